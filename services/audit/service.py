"""Writing and reading the audit trail. ``record`` is the only writer; there is no update or
delete function on purpose."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.audit.models import AuditEvent, AuditRead
from services.auth.principal import Principal
from services.core.db import page


def snapshot(obj: BaseModel | dict[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-ready copy of a wire object for ``before`` / ``after``."""
    if obj is None or isinstance(obj, dict):
        return obj
    return obj.model_dump(mode="json")


def record(session: Session, *, actor: str, actor_org: str | None, action: str,
           object_type: str, object_id: str, owner_org: str | None = None,
           before: BaseModel | dict[str, Any] | None = None,
           after: BaseModel | dict[str, Any] | None = None) -> None:
    """Append one event in the caller's transaction (it commits or rolls back with the change)."""
    session.add(AuditEvent(at=datetime.now(UTC), actor=actor, actor_org_id=actor_org,
                           owner_org_id=owner_org, action=action, object_type=object_type,
                           object_id=object_id, before=snapshot(before), after=snapshot(after)))
    session.flush()


def record_by(session: Session, principal: Principal, *, action: str, object_type: str,
              object_id: str, owner_org: str | None = None,
              before: BaseModel | dict[str, Any] | None = None,
              after: BaseModel | dict[str, Any] | None = None) -> None:
    """``record`` for an API caller."""
    record(session, actor=principal.actor, actor_org=principal.org_id, action=action,
           object_type=object_type, object_id=object_id, owner_org=owner_org, before=before,
           after=after)


def get_all(session: Session, *, org_id: str | None, object_type: str | None = None,
            object_id: str | None = None, action: str | None = None,
            limit: int | None = None, offset: int = 0) -> Sequence[AuditEvent]:
    """Events oldest first; ``org_id`` set: only those its organisation did or owns."""
    query = select(AuditEvent)
    if org_id is not None:
        query = query.where(or_(AuditEvent.actor_org_id == org_id,
                                AuditEvent.owner_org_id == org_id))
    if object_type is not None:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    query = page(query.order_by(AuditEvent.id), limit=limit, offset=offset)
    return session.scalars(query).all()


def to_read(e: AuditEvent) -> AuditRead:
    return AuditRead(id=e.id, at=e.at, actor=e.actor, actor_org=e.actor_org_id,
                     owner_org=e.owner_org_id, action=e.action, object_type=e.object_type,
                     object_id=e.object_id, before=e.before, after=e.after)
