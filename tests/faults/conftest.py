"""The service tests' database and live-store fixtures, reused by the fault tests."""

from tests.services.conftest import live, pg_schema_url

__all__ = ["live", "pg_schema_url"]
