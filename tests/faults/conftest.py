"""The service tests' database and live-store fixtures, reused by the fault tests, and a
Redis of the test's own (one it may SIGSTOP or kill)."""

from collections.abc import Iterator

import pytest

from tests.faults.servers import OwnServer, own_redis
from tests.services.conftest import live, pg_schema_url

__all__ = ["live", "pg_schema_url", "rds"]


@pytest.fixture
def rds() -> Iterator[OwnServer]:
    """A redis-server on a free port for this test alone, stopped after it."""
    server = own_redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
