"""The HTTP API: thin routes over the services (reads) and the workflows (writes)."""
