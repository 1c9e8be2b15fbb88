"""One entry point per task queue; each runs as its own process (`oddsmith worker <queue>`)."""
