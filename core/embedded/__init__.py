"""The embedded development stack: Postgres and the Temporal dev server, both from wheels."""

from core.embedded.ports import PortInUseError, ensure_port_free, free_port
from core.embedded.postgres import EmbeddedPostgres
from core.embedded.temporal_server import EmbeddedTemporal

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedTemporal",
    "PortInUseError",
    "ensure_port_free",
    "free_port",
]
