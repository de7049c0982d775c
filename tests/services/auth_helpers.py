"""Credentials for tests: an organisation and an API key made straight in the app's database."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.auth import service
from services.auth.models import OrgCreate, OrgKind, Role
from services.core.db import session_scope

PLATFORM_ORG = "test-platform"


def grant(app: FastAPI, *, org_id: str = PLATFORM_ORG, kind: str = "platform",
          role: str = "admin") -> str:
    """A fresh API-key token of ``org_id`` (created with ``kind`` when missing)."""
    with session_scope(app.state.session_factory) as db:
        if service.get_org(db, org_id=org_id) is None:
            service.create_org(db, org_in=OrgCreate(id=org_id, kind=OrgKind(kind)))
        _, token = service.create_key(db, org_id=org_id, role=Role(role), now=datetime.now(UTC))
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_platform(client: TestClient) -> TestClient:
    """Send every later request of ``client`` as the platform admin (what the old tests meant)."""
    client.headers.update(bearer(grant(client.app)))  # type: ignore[arg-type]
    return client


def grant_url(database_url: str, *, org_id: str = PLATFORM_ORG, kind: str = "platform",
              role: str = "admin") -> str:
    """``grant`` for a server running in another process: straight into its (migrated) DB."""
    from services.core.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            if service.get_org(db, org_id=org_id) is None:
                service.create_org(db, org_in=OrgCreate(id=org_id, kind=OrgKind(kind)))
            _, token = service.create_key(db, org_id=org_id, role=Role(role),
                                          now=datetime.now(UTC))
    finally:
        engine.dispose()
    return token
