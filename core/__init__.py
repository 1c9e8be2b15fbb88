"""Cross-cutting plumbing: settings, database, Temporal client, logging, the embedded dev stack."""
