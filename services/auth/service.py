"""Organisations, accounts and keys: create, revoke, and turn a bearer token into a Principal."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.auth import tokens
from services.auth.models import (
    Account,
    ApiKey,
    KeyRead,
    Organisation,
    OrgCreate,
    OrgKind,
    OrgRead,
    Role,
    UserRead,
)
from services.auth.principal import Principal
from services.core.errors import ConflictError, InvalidError, NotFoundError

# last_used_at is written at most this often per key: a busy script must not turn every read
# into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def get_org(session: Session, *, org_id: str) -> Organisation | None:
    return session.get(Organisation, org_id)


def get_all_orgs(session: Session, *, kind: str | None = None) -> Sequence[Organisation]:
    query = select(Organisation).order_by(Organisation.id)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    return session.scalars(query).all()


def create_org(session: Session, *, org_in: OrgCreate) -> Organisation:
    if session.get(Organisation, org_in.id) is not None:
        raise ConflictError(f"organisation {org_in.id!r} already exists")
    org = Organisation(id=org_in.id, kind=org_in.kind.value, name=org_in.name or org_in.id)
    session.add(org)
    session.flush()
    return org


def require_org(session: Session, *, org_id: str, kind: OrgKind | None = None,
                field: str = "org") -> Organisation:
    """The organisation ``org_id`` (of ``kind`` when given), else InvalidError naming ``field``."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise InvalidError(field, f"organisation {org_id!r} does not exist")
    if kind is not None and org.kind != kind.value:
        raise InvalidError(field, f"organisation {org_id!r} is a {org.kind} organisation, "
                                  f"not {kind.value}")
    return org


def create_key(session: Session, *, org_id: str, role: Role, label: str = "",
               now: datetime) -> tuple[ApiKey, str]:
    """A new API key of ``org_id``; answers the row and the token (shown once, never stored)."""
    if session.get(Organisation, org_id) is None:
        raise NotFoundError("organisation", org_id)
    new = tokens.new_api_key()
    key = ApiKey(id=f"K-{uuid.uuid4().hex[:12]}", org_id=org_id, role=role.value,
                 prefix=new.prefix, token_sha256=new.token_sha256, label=label, created_at=now)
    session.add(key)
    session.flush()
    return key, new.token


def get_key(session: Session, *, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def get_all_keys(session: Session, *, org_id: str) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).where(ApiKey.org_id == org_id)
                           .order_by(ApiKey.created_at, ApiKey.id)).all()


def revoke_key(session: Session, *, key: ApiKey, now: datetime) -> ApiKey:
    """Revoke ``key`` for good (a second revoke keeps the first time)."""
    if key.revoked_at is None:
        key.revoked_at = now
        session.flush()
    return key


def create_user(session: Session, *, org_id: str, email: str, password: str,
                role: Role) -> Account:
    if session.get(Organisation, org_id) is None:
        raise NotFoundError("organisation", org_id)
    email = email.strip().lower()
    taken = session.scalar(select(func.count()).where(Account.email == email))
    if taken:
        raise ConflictError(f"an account {email!r} already exists")
    account = Account(id=f"U-{uuid.uuid4().hex[:12]}", org_id=org_id, email=email,
                      role=role.value, password_hash=tokens.hash_password(password))
    session.add(account)
    session.flush()
    return account


def login(session: Session, *, email: str, password: str) -> Account | None:
    """The active account with these credentials, or None (same work either way)."""
    account = session.scalar(select(Account).where(Account.email == email.strip().lower()))
    ok = tokens.verify_password(password, account.password_hash if account else None)
    if not ok or account is None or not account.active:
        return None
    return account


def authenticate(session: Session, *, token: str, secret: str,
                 now: datetime) -> Principal | None:
    """The principal a bearer token stands for; None for unknown, revoked or expired ones."""
    return _principal(session, token=token, secret=secret, now=now, touch=True)


def identify(session: Session, *, token: str, secret: str, now: datetime) -> Principal | None:
    """``authenticate`` without recording the key's use: who a request would count against."""
    return _principal(session, token=token, secret=secret, now=now, touch=False)


def _principal(session: Session, *, token: str, secret: str, now: datetime,
               touch: bool) -> Principal | None:
    prefix = tokens.key_prefix(token)
    if prefix is not None:
        return _by_key(session, token, prefix, now, touch=touch)
    account_id = tokens.read_token(secret, token)
    if account_id is None:
        return None
    account = session.get(Account, account_id)
    if account is None or not account.active:
        return None
    org = session.get(Organisation, account.org_id)
    if org is None:  # pragma: no cover - the foreign key keeps it
        return None
    return Principal(org_id=org.id, org_kind=org.kind, role=account.role,
                     actor=f"user:{account.email}")


def _by_key(session: Session, token: str, prefix: str, now: datetime, *,
            touch: bool) -> Principal | None:
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None or not tokens.key_matches(token,
                                                                            key.token_sha256):
        return None
    org = session.get(Organisation, key.org_id)
    if org is None:  # pragma: no cover - the foreign key keeps it
        return None
    if touch and (key.last_used_at is None or now - key.last_used_at >= _LAST_USED_RESOLUTION):
        key.last_used_at = now
        session.flush()
    return Principal(org_id=org.id, org_kind=org.kind, role=key.role, actor=f"key:{prefix}")


def org_read(org: Organisation) -> OrgRead:
    return OrgRead(id=org.id, kind=OrgKind(org.kind), name=org.name, created_at=org.created_at)


def key_read(key: ApiKey) -> KeyRead:
    return KeyRead(id=key.id, org=key.org_id, role=Role(key.role), prefix=key.prefix,
                   label=key.label, created_at=key.created_at, last_used_at=key.last_used_at,
                   revoked_at=key.revoked_at)


def user_read(account: Account) -> UserRead:
    return UserRead(id=account.id, org=account.org_id, email=account.email,
                    role=Role(account.role), active=account.active)
