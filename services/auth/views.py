"""/orgs, /orgs/{id}/keys, /orgs/{id}/users, /keys/{id}, /auth/login and /me.

The policy table decides who reaches a route; here an organisation admin is kept to its own
organisation (another organisation answers 404), and every key created or revoked is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request, status

from services.audit import service as audit
from services.auth import service, tokens
from services.auth.deps import CurrentPrincipal
from services.auth.models import (
    KeyCreate,
    KeyCreated,
    KeyRead,
    LoginIn,
    MeRead,
    OrgCreate,
    OrgKind,
    OrgRead,
    Role,
    TokenRead,
    UserCreate,
    UserRead,
)
from services.auth.policy import UnauthenticatedError
from services.auth.principal import Principal
from services.auth.throttle import LoginThrottle
from services.core.db import DbSession
from services.core.errors import NotFoundError

router = APIRouter(tags=["auth"])


def login_throttle(app: FastAPI) -> LoginThrottle:
    """The app's failed-login limit, made from its settings on first use."""
    throttle = getattr(app.state, "login_throttle", None)
    if not isinstance(throttle, LoginThrottle):
        settings = app.state.settings
        throttle = LoginThrottle(per_account=settings.login_failures_per_account,
                                 per_address=settings.login_failures_per_address,
                                 window_s=settings.login_failure_window_s)
        app.state.login_throttle = throttle
    return throttle


def _own_org(principal: Principal, org_id: str) -> None:
    if not principal.is_platform and principal.org_id != org_id:
        raise NotFoundError("organisation", org_id)


@router.get("/me", response_model=MeRead)
def me(principal: CurrentPrincipal) -> MeRead:
    return MeRead(org=principal.org_id, org_kind=OrgKind(principal.org_kind),
                  role=Role(principal.role), actor=principal.actor)


@router.post("/auth/login", response_model=TokenRead)
def login(db: DbSession, request: Request, login_in: LoginIn) -> TokenRead:
    """Exchange e-mail and password for a signed token (send it as ``Authorization: Bearer``).

    Failed attempts are limited per account and per client address (429 with Retry-After,
    ``services.auth.throttle``)."""
    throttle = login_throttle(request.app)
    address = request.client.host if request.client else "unknown"
    ticket = throttle.attempt(email=login_in.email, address=address)  # 429 past the limit
    account = service.login(db, email=login_in.email, password=login_in.password)
    if account is None:
        throttle.failed()
        raise UnauthenticatedError("wrong e-mail or password")
    throttle.succeeded(email=login_in.email, address=address, ticket=ticket)
    settings = request.app.state.settings
    token = tokens.issue_token(settings.secret_key, account_id=account.id,
                               now=datetime.now(UTC), ttl_s=settings.token_ttl_s)
    return TokenRead(access_token=token, expires_in=settings.token_ttl_s)


@router.get("/orgs", response_model=list[OrgRead])
def list_orgs(db: DbSession) -> list[OrgRead]:
    return [service.org_read(o) for o in service.get_all_orgs(db)]


@router.post("/orgs", response_model=OrgRead, status_code=status.HTTP_201_CREATED)
def create_org(db: DbSession, principal: CurrentPrincipal, org_in: OrgCreate) -> OrgRead:
    org = service.org_read(service.create_org(db, org_in=org_in))
    audit.record_by(db, principal, action="org.created", object_type="organisation",
                    object_id=org.id, owner_org=org.id, after=org)
    return org


@router.get("/orgs/{org_id}", response_model=OrgRead)
def get_org(db: DbSession, principal: CurrentPrincipal, org_id: str) -> OrgRead:
    _own_org(principal, org_id)
    org = service.get_org(db, org_id=org_id)
    if org is None:
        raise NotFoundError("organisation", org_id)
    return service.org_read(org)


@router.get("/orgs/{org_id}/keys", response_model=list[KeyRead])
def list_keys(db: DbSession, principal: CurrentPrincipal, org_id: str) -> list[KeyRead]:
    _own_org(principal, org_id)
    if service.get_org(db, org_id=org_id) is None:
        raise NotFoundError("organisation", org_id)
    return [service.key_read(k) for k in service.get_all_keys(db, org_id=org_id)]


@router.post("/orgs/{org_id}/keys", response_model=KeyCreated,
             status_code=status.HTTP_201_CREATED)
def create_key(db: DbSession, principal: CurrentPrincipal, org_id: str,
               key_in: KeyCreate) -> KeyCreated:
    """A new API key; the token is in this answer only (it is stored hashed)."""
    _own_org(principal, org_id)
    key, token = service.create_key(db, org_id=org_id, role=key_in.role, label=key_in.label,
                                    now=datetime.now(UTC))
    read = service.key_read(key)
    audit.record_by(db, principal, action="key.created", object_type="api_key",
                    object_id=key.id, owner_org=org_id, after=read)
    return KeyCreated(**read.model_dump(), token=token)


@router.post("/orgs/{org_id}/users", response_model=UserRead,
             status_code=status.HTTP_201_CREATED)
def create_user(db: DbSession, principal: CurrentPrincipal, org_id: str,
                user_in: UserCreate) -> UserRead:
    _own_org(principal, org_id)
    user = service.user_read(service.create_user(db, org_id=org_id, email=user_in.email,
                                                 password=user_in.password, role=user_in.role))
    audit.record_by(db, principal, action="user.created", object_type="account",
                    object_id=user.id, owner_org=org_id, after=user)
    return user


@router.delete("/keys/{key_id}", response_model=KeyRead)
def revoke_key(db: DbSession, principal: CurrentPrincipal, key_id: str) -> KeyRead:
    key = service.get_key(db, key_id=key_id)
    if key is None or not (principal.is_platform or key.org_id == principal.org_id):
        raise NotFoundError("api key", key_id)
    before = service.key_read(key)
    after = service.key_read(service.revoke_key(db, key=key, now=datetime.now(UTC)))
    audit.record_by(db, principal, action="key.revoked", object_type="api_key",
                    object_id=key.id, owner_org=key.org_id, before=before, after=after)
    return after
