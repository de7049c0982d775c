"""Organisations (tenants), their accounts and API keys: ORM rows and wire schemas.

A secret is never stored: API keys keep a SHA-256 of the token (the token carries 256 random
bits, so a slow hash adds nothing), passwords an argon2 hash. Rows are never deleted: a key is
revoked (``revoked_at``), an account deactivated, so the audit trail always names real things.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.schemas import UtcDatetime, Wire
from services.core.db import Base, UtcDateTime
from services.orders.models import utcnow


class OrgKind(StrEnum):
    SME = "sme"
    FACTORY = "factory"
    PARK = "park"
    ANALYST = "analyst"
    PLATFORM = "platform"


class Role(StrEnum):
    ADMIN = "admin"  # manages the organisation's keys and users, and everything a member does
    MEMBER = "member"  # reads and changes what the organisation's kind may
    VIEWER = "viewer"  # reads only


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"),
                                        index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"),
                                        index=True)
    role: Mapped[str] = mapped_column(String(16))
    # The visible part of the token ("sfk_1a2b3c4d"): how a key is recognised in lists and logs.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# No "." (the separator of a tenant's id namespace, services.auth.namespace) and no ":" (its
# factories' gateway user names go into a Mosquitto password file, ``user:hash``).
OrgId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]


class OrgCreate(Wire):
    id: OrgId
    kind: OrgKind
    name: Annotated[str, Field(max_length=200)] = ""


class OrgRead(OrgCreate):
    created_at: UtcDatetime


class KeyCreate(Wire):
    role: Role = Role.MEMBER
    label: Annotated[str, Field(max_length=200)] = ""


class KeyRead(BaseModel):
    id: str
    org: str
    role: Role
    prefix: str
    label: str
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None
    revoked_at: UtcDatetime | None


class KeyCreated(KeyRead):
    """The only answer that carries the token: it is not stored and cannot be shown again."""

    token: str


class UserCreate(Wire):
    email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    password: Annotated[str, Field(min_length=12, max_length=1024)]
    role: Role = Role.MEMBER


class UserRead(BaseModel):
    id: str
    org: str
    email: str
    role: Role
    active: bool


class LoginIn(Wire):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeRead(BaseModel):
    org: str
    org_kind: OrgKind
    role: Role
    actor: str
