"""The Orchestrator: Temporal workflows. No I/O, no database, no clock but workflow.now()."""
