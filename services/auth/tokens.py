"""The cryptography, all of it from well-kept libraries: API-key tokens (``secrets`` +
SHA-256), password hashes (argon2-cffi) and signed expiring login tokens (PyJWT, HS256 with
``SHAREFAB_SECRET_KEY``). Nothing here touches the database."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

KEY_SCHEME = "sfk"  # tokens read sfk_<8 hex prefix>_<43 chars of 256 random bits>
_ISSUER = "sharefab"
_AUDIENCE = "sharefab-api"
_ALGORITHM = "HS256"
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class NewKey:
    prefix: str
    token: str
    token_sha256: str


def new_api_key() -> NewKey:
    """A fresh API key: shown once to its owner, only its hash is kept."""
    prefix = f"{KEY_SCHEME}_{secrets.token_hex(4)}"
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix=prefix, token=token, token_sha256=sha256(token))


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def key_prefix(token: str) -> str | None:
    """The visible prefix of an API-key token, or None when it is not shaped like one."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != 8:
        return None
    return f"{parts[0]}_{parts[1]}"


def key_matches(token: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(sha256(token), stored_sha256)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, stored_hash: str | None) -> bool:
    """Constant-work check (a missing account still costs one argon2 verification)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_token(secret: str, *, account_id: str, now: datetime, ttl_s: int) -> str:
    """A signed login token naming the account; org and role are read fresh on every use."""
    claims = {"sub": account_id, "iss": _ISSUER, "aud": _AUDIENCE, "iat": now,
              "exp": now + timedelta(seconds=ttl_s)}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_token(secret: str, token: str) -> str | None:
    """The account id of a valid, unexpired login token; None for anything else."""
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], audience=_AUDIENCE,
                            issuer=_ISSUER, options={"require": ["exp", "sub", "iat"]})
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None
