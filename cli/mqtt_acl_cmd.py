"""``sharefab mqtt acl``: the broker's password file and ACL from the registered factories."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from cli.apps import app
from connectors.broker_acl import BrokerUser, acl_file, password_file, plan_users

mqtt_app = typer.Typer(help="Securing the park's MQTT broker.", no_args_is_help=True)
app.add_typer(mqtt_app, name="mqtt")

CREDENTIALS = "credentials.json"


@mqtt_app.command("acl")
def acl(
    out: Path = typer.Option(..., "--out", help="Directory for passwd, acl, credentials.json "
                                                "and platform.env."),
    rotate: bool = typer.Option(False, help="New passwords for everyone (default: keep those "
                                            "in OUT/credentials.json, add new factories)."),
) -> None:
    """Write a Mosquitto password file and ACL: each factory gateway may publish only under
    its own sharefab/v1/<park>/<factory>/ and read only its own work orders.

    Passwords are shown only in OUT/credentials.json and OUT/platform.env (mode 0600): hand
    each factory its own line. Point mosquitto.conf's password_file and acl_file at OUT.
    """
    factories = _registered_factories()
    users, new = write_acl_dir(out, factories, rotate=rotate)
    typer.echo(f"{len(users)} broker users ({len(factories)} factory gateways, "
               f"{len(new)} new) written to {out}/passwd and {out}/acl")
    typer.echo(f"passwords: {out / CREDENTIALS} and {out / 'platform.env'} (mode 0600)")


def write_acl_dir(out: Path, factories: list[tuple[str, str]], *,
                  rotate: bool = False) -> tuple[list[BrokerUser], list[str]]:
    """Write the four files; returns every user and the names that got a new password."""
    known = {} if rotate else _read_known(out / CREDENTIALS)
    users = plan_users(factories, known)
    out.mkdir(parents=True, exist_ok=True)
    # Mosquitto (its own user in the container) must read these two; they hold no secret a
    # guess could use (random passwords behind PBKDF2), the credentials below do.
    _write(out / "passwd", password_file(users), 0o644)
    _write(out / "acl", acl_file(users), 0o644)
    _write(out / CREDENTIALS, json.dumps({u.username: {
        "password": u.password, "role": u.role, "park": u.park, "factory": u.factory}
        for u in users}, indent=2) + "\n", 0o600)
    env = {f"SHAREFAB_MQTT_{u.role.upper()}_PASSWORD": u.password
           for u in users if u.role != "gateway"}
    _write(out / "platform.env", "".join(f"{k}={v}\n" for k, v in env.items()), 0o600)
    return users, [u.username for u in users if u.username not in known]


def _registered_factories() -> list[tuple[str, str]]:
    from sqlalchemy import select

    from services.core.db import make_engine, make_session_factory, session_scope
    from services.core.settings import get_settings
    from services.factories.models import Factory

    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = session.execute(select(Factory.park_id, Factory.id)).all()
    finally:
        engine.dispose()
    return [(park, factory) for park, factory in rows]


def _read_known(path: Path) -> dict[str, BrokerUser]:
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: BrokerUser(name, str(v["password"]), v["role"], v.get("park"),
                                 v.get("factory")) for name, v in raw.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise typer.BadParameter(f"{path} is not a credentials file this command wrote "
                                 f"({exc}); pass --rotate to start afresh",
                                 param_hint="--out") from exc


def _write(path: Path, text: str, mode: int) -> None:
    """Create with ``mode`` from the start (no window where a secret is world-readable)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, mode)  # the umask may have narrowed it
    tmp.replace(path)
