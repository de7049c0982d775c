"""``sharefab admin ...``: bootstrap tenants on a fresh machine (no API key needed yet).

Runs against the configured database directly (``SHAREFAB_DATABASE_URL``, default the embedded
SQLite file), migrating it first. ``create-key`` prints the token as the LAST line of stdout, so
scripts can take it with ``| tail -n 1``; it is not stored and cannot be shown again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from sqlalchemy.orm import Session

from cli.apps import app

admin_app = typer.Typer(help="Organisations, accounts and API keys (bootstrap).",
                        no_args_is_help=True)
app.add_typer(admin_app, name="admin")
_KINDS = "sme | factory | park | analyst | platform"
_ROLES = "admin | member | viewer"


@contextmanager
def _session() -> Iterator[Session]:
    from services.core.db import make_engine, make_session_factory, migrate, session_scope
    from services.core.settings import get_settings

    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        migrate(engine)
        with session_scope(make_session_factory(engine)) as db:
            yield db
    finally:
        engine.dispose()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _audit(db: Session, action: str, object_type: str, object_id: str, owner: str,
           after: object) -> None:
    from services.audit import service as audit

    audit.record(db, actor="cli:admin", actor_org=None, action=action, object_type=object_type,
                 object_id=object_id, owner_org=owner,
                 after=after)  # type: ignore[arg-type]  # a pydantic model or dict


@admin_app.command("create-org")
def create_org(org_id: str = typer.Argument(..., help="organisation id, e.g. acme-machining"),
               kind: str = typer.Option(..., "--kind", help=_KINDS),
               name: str = typer.Option("", "--name", help="display name")) -> None:
    """Create an organisation (tenant)."""
    from pydantic import ValidationError

    from services.auth import service
    from services.auth.models import OrgCreate
    from services.core.errors import ConflictError

    try:
        org_in = OrgCreate.model_validate({"id": org_id, "kind": kind, "name": name})
    except ValidationError as exc:
        raise _fail(f"invalid organisation: {exc.errors()[0]['msg']}") from exc
    with _session() as db:
        try:
            org = service.create_org(db, org_in=org_in)
        except ConflictError as exc:
            raise _fail(str(exc)) from exc
        _audit(db, "org.created", "organisation", org.id, org.id, service.org_read(org))
    typer.echo(f"created organisation {org_id} ({kind})")


@admin_app.command("create-key")
def create_key(org: str = typer.Option(..., "--org", help="organisation id"),
               role: str = typer.Option("admin", "--role", help=_ROLES),
               label: str = typer.Option("", "--label", help="what the key is for")) -> None:
    """Create an API key; the token is the last line of stdout (shown once)."""
    from services.auth import service
    from services.auth.models import Role
    from services.core.errors import NotFoundError

    if role not in {r.value for r in Role}:
        raise _fail(f"--role must be one of {_ROLES}, got {role!r}")
    with _session() as db:
        try:
            key, token = service.create_key(db, org_id=org, role=Role(role), label=label,
                                            now=datetime.now(UTC))
        except NotFoundError as exc:
            raise _fail(str(exc)) from exc
        _audit(db, "key.created", "api_key", key.id, org, service.key_read(key))
    typer.echo(f"API key {key.id} ({key.prefix}, role {role}) for {org}; store the token now, "
               "it is not shown again:")
    typer.echo(token)


@admin_app.command("create-user")
def create_user(email: str = typer.Argument(..., help="login e-mail"),
                org: str = typer.Option(..., "--org", help="organisation id"),
                role: str = typer.Option("member", "--role", help=_ROLES),
                password: str = typer.Option(..., "--password", prompt=True,
                                             hide_input=True, confirmation_prompt=True,
                                             help="at least 12 characters (prompted if absent)"),
                ) -> None:
    """Create a person's account (password login via POST /auth/login)."""
    from pydantic import ValidationError

    from services.auth import service
    from services.auth.models import UserCreate
    from services.core.errors import ConflictError, NotFoundError

    try:
        user_in = UserCreate.model_validate({"email": email, "password": password, "role": role})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise _fail(f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    with _session() as db:
        try:
            account = service.create_user(db, org_id=org, email=user_in.email,
                                          password=user_in.password, role=user_in.role)
        except (ConflictError, NotFoundError) as exc:
            raise _fail(str(exc)) from exc
        _audit(db, "user.created", "account", account.id, org, service.user_read(account))
    typer.echo(f"created account {account.email} ({role}) in {org}")


@admin_app.command("revoke-key")
def revoke_key(key: str = typer.Argument(..., help="key id (K-...) or visible prefix (sfk_...)")
               ) -> None:
    """Revoke an API key for good."""
    from sqlalchemy import select

    from services.auth import service
    from services.auth.models import ApiKey

    with _session() as db:
        row = service.get_key(db, key_id=key) or db.scalar(
            select(ApiKey).where(ApiKey.prefix == key))
        if row is None:
            raise _fail(f"no API key {key!r}")
        before = service.key_read(row)
        service.revoke_key(db, key=row, now=datetime.now(UTC))
        from services.audit import service as audit

        audit.record(db, actor="cli:admin", actor_org=None, action="key.revoked",
                     object_type="api_key", object_id=row.id, owner_org=row.org_id,
                     before=before, after=service.key_read(row))
    typer.echo(f"revoked {row.id} ({row.prefix})")
