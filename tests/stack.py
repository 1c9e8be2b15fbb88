"""The test stack: an embedded Postgres and Temporal dev server of its own, on free ports.

Isolated from a running dev stack: other ports, a temporary data folder, prefixed task queues.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.embedded import EmbeddedPostgres, EmbeddedTemporal, free_port


@dataclass
class TestStack:
    __test__ = False  # a fixture's value, not a test class
    postgres: EmbeddedPostgres
    temporal: EmbeddedTemporal
    root: Path

    @classmethod
    def start(cls) -> TestStack:
        root = Path(tempfile.mkdtemp(prefix="oddsmith-test-"))
        postgres = EmbeddedPostgres(root / "postgres", port=free_port(), durable=False)
        temporal = EmbeddedTemporal(port=free_port(), ui_port=None, log_file=root / "temporal.log")
        postgres.start()
        try:
            temporal.start()
        except Exception:
            postgres.stop()
            raise
        return cls(postgres=postgres, temporal=temporal, root=root)

    def export_environment(self) -> None:
        """Point every settings read in this process (and its children) at the test stack."""
        os.environ.update(
            ODDSMITH_ENV="test",
            DATABASE_URL=self.postgres.url,
            TEMPORAL_ADDRESS=self.temporal.address,
            TEMPORAL_NAMESPACE="default",
            TASK_QUEUE_PREFIX="test-",
            ODDSMITH_DATA_DIR=str(self.root / "data"),
        )

    def stop(self) -> None:
        self.temporal.stop()
        self.postgres.stop()
