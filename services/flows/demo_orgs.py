"""The demo's organisations (``sharefab serve --demo``): who owns what in the demo park, and a
fresh API key for each, written to ``<data_dir>/demo-tokens.txt`` so anyone can act as any role.

Two SMEs own the demo orders, each demo factory belongs to a factory organisation of its own,
one park operator runs both demo parks, an analyst reads aggregates, and the platform admin does
everything. Idempotent: organisations and owners are set once; every start issues new keys and
revokes the previous start's demo keys, so only the tokens in the file work.

Each demo organisation also gets one person (an admin account) for the web app's login page:
user name ``<org>@demo.sharefab.example`` (without the ``demo-`` prefix), and a new random
password at every start, written to the same file as ``#person`` comment lines (so scripts
reading the ``org kind role token`` lines are unaffected).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.audit import service as audit
from services.auth import service as auth_service
from services.auth import tokens as auth_tokens
from services.auth.models import Account, ApiKey, OrgCreate, OrgKind, Role
from services.core.db import session_scope
from services.factories.models import Factory
from services.flows.demo import PARKS
from services.orders.models import Order
from services.parks.models import Park

PLATFORM, PARK_OPERATOR, ANALYST = "platform", "demo-park-operator", "demo-analyst"
# SME organisation -> the demo orders it posted.
SMES = {"demo-sme-valves": ("DEMO-O1", "DEMO-O2"), "demo-sme-electronics": ("DEMO-O3", "DEMO-O4")}
_LABEL = "demo"
PERSON_DOMAIN = "demo.sharefab.example"  # .example: reserved, never a real mailbox (RFC 2606)


@dataclass(frozen=True, slots=True)
class DemoToken:
    org_id: str
    kind: str
    role: str
    token: str


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """A demo organisation's person for the login page (the password is new every start)."""

    org_id: str
    kind: str
    email: str
    password: str


def person_email(org_id: str) -> str:
    return f"{org_id.removeprefix('demo-')}@{PERSON_DOMAIN}".lower()  # stored lowercased


def factory_org(factory_id: str) -> str:
    return f"org-{factory_id}"


def _ensure_org(db: Session, org_id: str, kind: OrgKind, name: str) -> None:
    if auth_service.get_org(db, org_id=org_id) is None:
        auth_service.create_org(db, org_in=OrgCreate(id=org_id, kind=kind, name=name))


def _assign_owners(db: Session) -> None:
    """Give every unowned demo row its demo organisation."""
    _ensure_org(db, PLATFORM, OrgKind.PLATFORM, "ShareFab platform operator")
    _ensure_org(db, PARK_OPERATOR, OrgKind.PARK, "Yangtze Delta park operator")
    _ensure_org(db, ANALYST, OrgKind.ANALYST, "Market analyst")
    for park_id, *_ in PARKS:
        park = db.get(Park, park_id)
        if park is not None and park.operator_org_id is None:
            park.operator_org_id = PARK_OPERATOR
    for sme, order_ids in SMES.items():
        _ensure_org(db, sme, OrgKind.SME, sme)
        for order in db.scalars(select(Order).where(Order.id.in_(order_ids),
                                                    Order.org_id.is_(None))):
            order.org_id = sme
    park_ids = [p[0] for p in PARKS]
    for factory in db.scalars(select(Factory).where(Factory.park_id.in_(park_ids))):
        _ensure_org(db, factory_org(factory.id), OrgKind.FACTORY, factory.name)
        if factory.org_id is None:
            factory.org_id = factory_org(factory.id)
    db.flush()


def _reissue_keys(db: Session, now: datetime) -> list[DemoToken]:
    for key in db.scalars(select(ApiKey).where(ApiKey.label == _LABEL,
                                               ApiKey.revoked_at.is_(None))):
        auth_service.revoke_key(db, key=key, now=now)
    wanted = [(PLATFORM, "platform"), (PARK_OPERATOR, "park"), (ANALYST, "analyst")]
    wanted += [(sme, "sme") for sme in SMES]
    wanted += [(f.org_id, "factory") for f in db.scalars(
        select(Factory).where(Factory.org_id.is_not(None)).order_by(Factory.position))
        if f.org_id and f.org_id.startswith("org-")]
    out = []
    for org_id, kind in wanted:
        key, token = auth_service.create_key(db, org_id=org_id, role=Role.ADMIN, label=_LABEL,
                                             now=now)
        audit.record(db, actor="demo", actor_org=PLATFORM, action="key.created",
                     object_type="api_key", object_id=key.id, owner_org=org_id,
                     after=auth_service.key_read(key))
        out.append(DemoToken(org_id=org_id, kind=kind, role=key.role, token=token))
    return out


def _reset_persons(db: Session, tokens: list[DemoToken]) -> list[DemoPerson]:
    """One admin account per demo organisation, each with a fresh random password."""
    out = []
    for t in tokens:
        email, password = person_email(t.org_id), secrets.token_urlsafe(12)
        account = db.scalar(select(Account).where(Account.email == email))
        if account is None:
            auth_service.create_user(db, org_id=t.org_id, email=email, password=password,
                                     role=Role.ADMIN)
        else:
            account.password_hash = auth_tokens.hash_password(password)
            account.active = True
        out.append(DemoPerson(org_id=t.org_id, kind=t.kind, email=email, password=password))
    db.flush()
    return out


def seed_orgs(session_factory: sessionmaker[Session], *, data_dir: Path) -> list[DemoToken]:
    """Owners, fresh demo keys and passwords; both go to ``data_dir/demo-tokens.txt``."""
    with session_scope(session_factory) as db:
        _assign_owners(db)
        tokens = _reissue_keys(db, datetime.now(UTC))
        persons = _reset_persons(db, tokens)
    write_tokens(data_dir / "demo-tokens.txt", tokens, persons)
    return tokens


def read_persons(path: Path) -> list[DemoPerson]:
    """The ``#person`` lines of a demo token file (for tests and scripts)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#person "):
            _tag, org_id, kind, email, password = line.split()
            out.append(DemoPerson(org_id=org_id, kind=kind, email=email, password=password))
    return out


def write_tokens(path: Path, tokens: list[DemoToken],
                 persons: list[DemoPerson] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# ShareFab demo API keys (new ones every start). Use one as",
             "#   curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8000/me",
             "# or paste it on the web app's login page, http://127.0.0.1:8000/app/login",
             "# org kind role token"]
    lines += [f"{t.org_id} {t.kind} {t.role} {t.token}" for t in tokens]
    if persons:
        lines += ["# web app persons: sign in at /app/login with the e-mail and password",
                  "#person org kind e-mail password"]
        lines += [f"#person {p.org_id} {p.kind} {p.email} {p.password}" for p in persons]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)  # bearer secrets: readable by the one who started the demo only


def how_to(tokens: list[DemoToken], path: Path) -> str:
    """A few lines for the console: one token per kind, and where the rest are."""
    shown: dict[str, DemoToken] = {}
    for t in tokens:
        shown.setdefault(t.kind, t)
    lines = [f"demo organisations and API keys ({len(tokens)}) written to {path}"]
    lines += [f"  {t.kind:<8} {t.org_id:<22} Authorization: Bearer {t.token}"
              for t in shown.values()]
    return "\n".join(lines)
