"""Authorisation in one place: the policy of every route, keyed by ``"METHOD /path"``.

One app-wide dependency (``deps.authorize``) looks up the route being called here and checks the
caller's organisation kind and role before the view runs. A route not in the table is
platform-only (default deny for every tenant), and tests/services/test_auth_policy.py fails for
it, so a new route cannot ship without a decision. Which *objects* a permitted caller may see
(its own orders, its own factories' resources, ...) is decided by ``services.auth.scope``;
another tenant's object answers 404, never revealing that it exists.

The platform organisation may call everything (``is_platform``); its viewers still only read.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.auth.principal import Principal

SME, FACTORY, PARK, ANALYST = "sme", "factory", "park", "analyst"
TENANTS = (SME, FACTORY, PARK, ANALYST)


class UnauthenticatedError(Exception):
    """No credentials, or credentials that name nothing valid (answered 401)."""


class ForbiddenError(Exception):
    """A valid caller whose organisation kind or role may not use this route (answered 403)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may call a route: tenant kinds besides the platform, and whether it changes state."""

    kinds: frozenset[str] = frozenset()
    write: bool = False  # viewers are refused
    admin: bool = False  # only an organisation's admins
    public: bool = False  # no credentials needed at all


PUBLIC = Rule(public=True)
PLATFORM_ONLY = Rule(write=True)


def read(*kinds: str) -> Rule:
    return Rule(kinds=frozenset(kinds))


def write(*kinds: str) -> Rule:
    return Rule(kinds=frozenset(kinds), write=True)


def admin(*kinds: str) -> Rule:
    return Rule(kinds=frozenset(kinds), write=True, admin=True)


POLICY: dict[str, Rule] = {
    # Public: liveness, the docs, the static dashboard page (its data needs a token), login.
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,  # the load balancer's probe: dependency up/down, no data
    "GET /docs": PUBLIC,
    "GET /": PUBLIC,  # redirects to /app
    # The web app's pages: static HTML without data (their API calls carry the token).
    "GET /app": PUBLIC,
    "GET /app/login": PUBLIC,
    "GET /app/park": PUBLIC,
    "GET /app/sme": PUBLIC,
    "GET /app/factory": PUBLIC,
    "GET /app/analyst": PUBLIC,
    "POST /auth/login": PUBLIC,
    # Counters and histograms without tenant data; scrape it from the park network only.
    "GET /metrics": PUBLIC,
    # Accounts and keys.
    "GET /me": read(*TENANTS),
    "POST /orgs": PLATFORM_ONLY,
    "GET /orgs": read(),
    "GET /orgs/{org_id}": read(*TENANTS),
    "GET /orgs/{org_id}/keys": admin(*TENANTS),
    "POST /orgs/{org_id}/keys": admin(*TENANTS),
    "POST /orgs/{org_id}/users": admin(*TENANTS),
    "DELETE /keys/{key_id}": admin(*TENANTS),
    "GET /audit": read(*TENANTS),
    # Parks: a park organisation operates its own.
    "GET /parks": read(PARK),
    "POST /parks": write(PARK),
    "GET /parks/{park_id}": read(PARK),
    "PATCH /parks/{park_id}": write(PARK),
    "DELETE /parks/{park_id}": write(PARK),
    # The park operator's page: its own parks' figures (no customer prices in them).
    "GET /parks/{park_id}/utilization": read(PARK),
    "GET /parks/{park_id}/heatmap": read(PARK),
    "GET /parks/{park_id}/idle": read(PARK),
    "GET /parks/{park_id}/down": read(PARK),
    "GET /parks/{park_id}/orders": read(PARK),
    "GET /parks/{park_id}/trends": read(PARK),
    "GET /parks/{park_id}/live": read(PARK),
    # Factories and resources: their factory organisation manages them, their park reads them.
    "GET /factories": read(FACTORY, PARK),
    "POST /factories": write(FACTORY),
    "GET /factories/{factory_id}": read(FACTORY, PARK),
    "PATCH /factories/{factory_id}": write(FACTORY),
    "DELETE /factories/{factory_id}": write(FACTORY),
    "GET /resources": read(FACTORY, PARK),
    "POST /resources": write(FACTORY),
    "GET /resources/{resource_id}": read(FACTORY, PARK),
    "PATCH /resources/{resource_id}": write(FACTORY),
    "DELETE /resources/{resource_id}": write(FACTORY),
    # Orders, quotes and their acceptance: the SME that posted the order.
    "GET /orders": read(SME),
    "POST /orders": write(SME),
    "GET /orders/{order_id}": read(SME),
    "DELETE /orders/{order_id}": write(SME),
    "POST /orders/{order_id}/quotes": write(SME),
    "GET /orders/{order_id}/quotes": read(SME),
    "GET /quotes/{quote_id}": read(SME),
    "POST /quotes/{quote_id}/accept": write(SME),
    "POST /orders/{order_id}/cancel": write(SME),
    # Bookings: the SME of the order, the factory of the resource (its own lots only).
    "GET /bookings": read(SME, FACTORY),
    "GET /bookings/{booking_id}": read(SME, FACTORY),
    # The factory making a lot confirms, declines or reports it (its own lots only).
    "POST /bookings/{booking_id}/accept-work": write(FACTORY),
    "POST /bookings/{booking_id}/decline": write(FACTORY),
    "POST /bookings/{booking_id}/progress": write(FACTORY),
    # An order's history and live stream, webhooks: the SME of the order (its own only).
    "GET /orders/{order_id}/events": read(SME),
    "GET /events/stream": read(SME),
    "POST /webhooks": write(SME),
    "GET /webhooks": read(SME),
    "DELETE /webhooks/{webhook_id}": write(SME),
    "GET /webhooks/{webhook_id}/deliveries": read(SME),
    # Two-sided ratings: the SME of the order rates its factories, a factory that worked on it
    # rates the customer. Credit: the factory's own, and its park's view of it.
    "POST /orders/{order_id}/ratings": write(SME, FACTORY),
    "GET /orders/{order_id}/ratings": read(SME, FACTORY),
    "GET /factories/{factory_id}/credit": read(FACTORY, PARK),
    # A factory's own earnings and utilization (the factory page): never another's.
    "GET /factories/{factory_id}/earnings": read(FACTORY),
    "GET /factories/{factory_id}/utilization": read(FACTORY),
    # Reference data (process codes, materials): public, it belongs to no tenant and clients
    # build their forms from it before they have a key.
    "GET /processes": PUBLIC,
    "GET /processes/{code}": PUBLIC,
    "GET /materials": PUBLIC,
    # The whole market in and out: the platform alone.
    "POST /scenario": PLATFORM_ONLY,
    "GET /scenario": read(),
    # Simulations launched from the web: analysts (their own runs) and the platform.
    "POST /simulations": write(ANALYST),
    "GET /simulations": read(ANALYST),
    "GET /simulations/example": read(ANALYST),
    "GET /simulations/{simulation_id}": read(ANALYST),
    "GET /simulations/{simulation_id}/report": read(ANALYST),
    # Market aggregates: analysts everywhere, park operators for their parks.
    "GET /dashboard/data": read(PARK, ANALYST),
}


def rule_for(method: str, path: str) -> Rule:
    """The rule of a route; undeclared routes are the platform's alone (default deny)."""
    rule = POLICY.get(f"{method} {path}")
    if rule is None and method == "HEAD":
        rule = POLICY.get(f"GET {path}")
    return rule if rule is not None else PLATFORM_ONLY


def check(rule: Rule, principal: Principal) -> None:
    """ForbiddenError unless ``principal`` may call a route with ``rule``."""
    if not principal.is_platform and principal.org_kind not in rule.kinds:
        raise ForbiddenError(f"a {principal.org_kind} organisation may not do this")
    if rule.admin and principal.role != "admin":
        raise ForbiddenError("only an organisation admin may do this")
    if rule.write and principal.role == "viewer":
        raise ForbiddenError("a viewer may only read")
