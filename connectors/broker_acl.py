"""Mosquitto credentials and ACL for a park's broker, from the registered factories.

Who may do what on the topic tree of ``connectors.topics`` (Mosquitto 2 ``acl_file`` syntax,
deny by default: a user may touch only the topics listed under it):

- each factory gateway ``gw/<park>/<factory>`` publishes only its own ``state``,
  ``availability``, ``progress`` and gateway ``status`` (its Last Will too), and reads only
  its own ``work-orders``; it cannot read ``_rejected`` (the notices quote other factories'
  payloads);
- ``sharefab-ingest`` reads everything under ``sharefab/v1/`` and publishes ``_rejected``
  (and reads ``$SYS/broker/uptime``: the compose health check);
- ``sharefab-dispatcher`` publishes work orders to any factory;
- ``sharefab-platform`` is both (one API process running the ingest in-process).

The broker cannot look inside a payload: a gateway may still name another factory's booking in
its own ``progress`` topic; the ingest refuses that (``connectors.validation``).

Passwords are random (24 bytes of ``secrets``), hashed in Mosquitto 2's PBKDF2-SHA512 format
(``$7$``) with ``hashlib.pbkdf2_hmac``, the standard KDF, rather than by running
``mosquitto_passwd -b``: that would put every password on a command line other users of the
machine can read. Plain data in, text out: no I/O here.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from connectors.topics import GATEWAY, REJECTED_TOPIC, ROOT, Kind

Role = Literal["gateway", "ingest", "dispatcher", "platform"]

INGEST_USER = "sharefab-ingest"
DISPATCHER_USER = "sharefab-dispatcher"
PLATFORM_USER = "sharefab-platform"
PLATFORM_USERS: dict[str, Role] = {INGEST_USER: "ingest", DISPATCHER_USER: "dispatcher",
                                   PLATFORM_USER: "platform"}
# Mosquitto verifies the hash on each connect; the passwords are 192-bit random, so the
# iteration count guards nothing a guess could reach. Mosquitto's own default is 101.
PBKDF2_ITERATIONS = 10_000
_SALT_BYTES = 12  # what mosquitto_passwd uses


@dataclass(frozen=True, slots=True)
class BrokerUser:
    """One broker login: a factory gateway (park and factory set) or a platform client."""

    username: str
    password: str
    role: Role
    park: str | None = None
    factory: str | None = None


def gateway_username(park: str, factory: str) -> str:
    """``gw/<park>/<factory>``: ids never hold "/", so the name says exactly whose it is."""
    for name, value in (("park", park), ("factory", factory)):
        if ":" in value:  # the password file is ``user:hash``
            raise ValueError(f"{name} id {value!r} contains ':', which a Mosquitto user name "
                             f"cannot; rename it to secure its gateway")
    return f"gw/{park}/{factory}"


def new_password() -> str:
    return secrets.token_urlsafe(24)


def plan_users(factories: Iterable[tuple[str, str]],
               known: dict[str, BrokerUser] | None = None) -> list[BrokerUser]:
    """Every user the broker needs, platform users first; passwords of ``known`` users kept
    (re-running after a factory registered must not log every other gateway out)."""
    known = known or {}

    def keep_or_new(username: str) -> str:
        return known[username].password if username in known else new_password()

    users = [BrokerUser(name, keep_or_new(name), role) for name, role in PLATFORM_USERS.items()]
    for park, factory in sorted(set(factories)):
        name = gateway_username(park, factory)
        users.append(BrokerUser(name, keep_or_new(name), "gateway", park, factory))
    return users


def hash_password(password: str, *, salt: bytes | None = None,
                  iterations: int = PBKDF2_ITERATIONS) -> str:
    """Mosquitto 2's ``$7$iterations$salt$hash`` (PBKDF2-HMAC-SHA512, base64)."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return (f"$7${iterations}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(digest).decode()}")


def password_file(users: Iterable[BrokerUser]) -> str:
    return "".join(f"{u.username}:{hash_password(u.password)}\n" for u in users)


def topic_rules(user: BrokerUser) -> list[str]:
    """The ``topic read|write`` lines of one user."""
    if user.role == "gateway":
        assert user.park is not None
        assert user.factory is not None
        own = f"{ROOT}/{user.park}/{user.factory}"
        return [*(f"topic write {own}/+/{kind.value}"
                  for kind in (Kind.STATE, Kind.AVAILABILITY, Kind.PROGRESS)),
                f"topic write {own}/{GATEWAY}/{Kind.GATEWAY_STATUS.value}",
                f"topic read {own}/+/{Kind.WORK_ORDERS.value}"]
    rules: list[str] = []
    if user.role in ("ingest", "platform"):
        # $SYS uptime: the broker's health check logs in as the ingest (no anonymous).
        rules += [f"topic read {ROOT}/#", f"topic write {REJECTED_TOPIC}",
                  "topic read $SYS/broker/uptime"]
    if user.role in ("dispatcher", "platform"):
        rules += [f"topic write {ROOT}/+/+/+/{Kind.WORK_ORDERS.value}"]
    return rules


def acl_file(users: Iterable[BrokerUser]) -> str:
    """The whole ACL: no rules outside a ``user`` block, so anonymous and unknown get none."""
    parts = ["# Written by `sharefab mqtt acl`: regenerate, do not edit.\n"
             "# Deny by default: a user may use only the topics under its name.\n"]
    for user in users:
        parts.append(f"\n# {user.role}\nuser {user.username}\n"
                     + "".join(f"{rule}\n" for rule in topic_rules(user)))
    return "".join(parts)
