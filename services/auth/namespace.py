"""Ids a tenant chooses live in its own namespace, so creating one reveals nothing of others.

Factories, resources, orders and parks have ids their creator picks, and those ids are global
keys (they travel in MQTT topics, plans and URLs). Were they checked against one global set, a
``POST /orders {"id": "O1"}`` answered 409 would tell an SME that some competitor has an order
"O1": an existence oracle across tenants. Instead an id a tenant creates is qualified with its
organisation, ``<org>.<id>`` (``O1`` posted by ``sme-a`` is stored and answered as
``sme-a.O1``; an id already starting with ``sme-a.`` is kept as sent). Two organisations'
namespaces never overlap (organisation ids hold no ``.``), so what a tenant's create answers
depends only on its own objects: a 409 means "you already have one". The platform's ids (a
scenario import, an admin's ``POST``) are taken as sent: it sees everything anyway.

The answer of every create carries the id to use from then on; the formats are unchanged (an
id is still a string of ``domain.schemas.ID_PATTERN``).
"""

from __future__ import annotations

from services.auth.principal import Principal
from services.core.errors import InvalidError

SEPARATOR = "."
MAX_ID_LENGTH = 64  # domain.schemas.ID_PATTERN


def prefix_of(org_id: str) -> str:
    return org_id + SEPARATOR


def qualify(principal: Principal, object_id: str, *, field: str = "body.id") -> str:
    """The stored id of ``object_id`` created by ``principal`` (see the module docstring)."""
    if principal.is_platform:
        return object_id
    if SEPARATOR in principal.org_id:
        # Organisations made before ids were namespaced could hold a ".": their namespace
        # could overlap another's, so they create nothing until renamed.
        raise InvalidError(field, f"organisation id {principal.org_id!r} contains "
                                  f"{SEPARATOR!r}; ask the platform to re-create it without")
    prefix = prefix_of(principal.org_id)
    if object_id.startswith(prefix):
        return object_id
    qualified = prefix + object_id
    if len(qualified) > MAX_ID_LENGTH:
        raise InvalidError(field, f"with your namespace {prefix!r} the id must be at most "
                                  f"{MAX_ID_LENGTH - len(prefix)} characters")
    return qualified
