"""The access matrix of issue 10, walked over EVERY route of the OpenAPI document, anonymous and
as each role, on SQLite and PostgreSQL: 401 anonymous, 403 for a wrong kind or role, 404 for
another tenant's object, 2xx where allowed.

``EXPECTED`` is written from the issue, independently of ``services.auth.policy.POLICY``: the
test checks that what the server does matches the spec, not that the table matches itself. A
route in the document but not here fails ``test_policy__every_route_is_declared``.

Each route gets a fresh world: two tenants of each kind (A and B), their factories, parks,
orders (and quotes and bookings where the route needs them). Checks that change nothing run
first; then tenant A acts on its own object (2xx) and the platform on B's (2xx).

One app per backend serves the whole walk (starting one, with its migrations, took longer
than most routes' checks); every table is emptied and the live store cleared between routes,
so each still starts from nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from services.api.app import create_app
from services.auth import policy
from services.core.db import Base
from services.live.memory import InMemoryLiveStore
from tests.services import builders as b
from tests.services.auth_helpers import as_platform, bearer, grant
from tests.services.conftest import NOW, TABLES, make_settings, seed_park

SME, FACTORY, PARK, ANALYST = "sme", "factory", "park", "analyst"
ALL = frozenset({SME, FACTORY, PARK, ANALYST})


@dataclass(frozen=True)
class Spec:
    """Tenant kinds allowed besides the platform; ``write``: viewers refused; ``admin``: only
    an organisation's admins; ``public``: no credentials needed."""

    kinds: frozenset[str] = frozenset()
    write: bool = False
    admin: bool = False
    public: bool = False


def r(*kinds: str) -> Spec:
    return Spec(kinds=frozenset(kinds))


def w(*kinds: str) -> Spec:
    return Spec(kinds=frozenset(kinds), write=True)


EXPECTED: dict[str, Spec] = {
    "GET /healthz": Spec(public=True),
    "GET /readyz": Spec(public=True),
    "POST /auth/login": Spec(public=True),
    "GET /me": Spec(kinds=ALL),
    "POST /orgs": w(),
    "GET /orgs": r(),
    "GET /orgs/{org_id}": Spec(kinds=ALL),
    "GET /orgs/{org_id}/keys": Spec(kinds=ALL, write=True, admin=True),
    "POST /orgs/{org_id}/keys": Spec(kinds=ALL, write=True, admin=True),
    "POST /orgs/{org_id}/users": Spec(kinds=ALL, write=True, admin=True),
    "DELETE /keys/{key_id}": Spec(kinds=ALL, write=True, admin=True),
    "GET /audit": Spec(kinds=ALL),
    "GET /parks": r(PARK),
    "POST /parks": w(PARK),
    "GET /parks/{park_id}": r(PARK),
    "PATCH /parks/{park_id}": w(PARK),
    "DELETE /parks/{park_id}": w(PARK),
    "GET /parks/{park_id}/utilization": r(PARK),
    "GET /parks/{park_id}/heatmap": r(PARK),
    "GET /parks/{park_id}/idle": r(PARK),
    "GET /parks/{park_id}/down": r(PARK),
    "GET /parks/{park_id}/orders": r(PARK),
    "GET /parks/{park_id}/trends": r(PARK),
    "GET /parks/{park_id}/live": r(PARK),
    "GET /factories": r(FACTORY, PARK),
    "POST /factories": w(FACTORY),
    "GET /factories/{factory_id}": r(FACTORY, PARK),
    "PATCH /factories/{factory_id}": w(FACTORY),
    "DELETE /factories/{factory_id}": w(FACTORY),
    "GET /resources": r(FACTORY, PARK),
    "POST /resources": w(FACTORY),
    "GET /resources/{resource_id}": r(FACTORY, PARK),
    "PATCH /resources/{resource_id}": w(FACTORY),
    "DELETE /resources/{resource_id}": w(FACTORY),
    "GET /orders": r(SME),
    "POST /orders": w(SME),
    "GET /orders/{order_id}": r(SME),
    "DELETE /orders/{order_id}": w(SME),
    "POST /orders/{order_id}/quotes": w(SME),
    "GET /orders/{order_id}/quotes": r(SME),
    "GET /quotes/{quote_id}": r(SME),
    "POST /quotes/{quote_id}/accept": w(SME),
    "POST /orders/{order_id}/cancel": w(SME),
    "GET /bookings": r(SME, FACTORY),
    "GET /bookings/{booking_id}": r(SME, FACTORY),
    "POST /bookings/{booking_id}/accept-work": w(FACTORY),
    "POST /bookings/{booking_id}/decline": w(FACTORY),
    "POST /bookings/{booking_id}/progress": w(FACTORY),
    "GET /processes": Spec(public=True),
    "GET /processes/{code}": Spec(public=True),
    "GET /materials": Spec(public=True),
    "POST /scenario": w(),
    "GET /scenario": r(),
    "GET /dashboard/data": r(PARK, ANALYST),
    # An order's history, the live stream and webhooks: the SME's own.
    "GET /orders/{order_id}/events": r(SME),
    "GET /events/stream": r(SME),
    "POST /webhooks": w(SME),
    "GET /webhooks": r(SME),
    "DELETE /webhooks/{webhook_id}": w(SME),
    "GET /webhooks/{webhook_id}/deliveries": r(SME),
    # Ratings: both sides of a finished order; credit: the factory's own and its park's view.
    "POST /orders/{order_id}/ratings": w(SME, FACTORY),
    "GET /orders/{order_id}/ratings": r(SME, FACTORY),
    "GET /factories/{factory_id}/credit": r(FACTORY, PARK),
    # The factory page: a factory's own earnings and utilization.
    "GET /factories/{factory_id}/earnings": r(FACTORY),
    "GET /factories/{factory_id}/utilization": r(FACTORY),
    # Simulations launched from the web app: analysts' own runs, and the platform's.
    "POST /simulations": w(ANALYST),
    "GET /simulations": r(ANALYST),
    "GET /simulations/example": r(ANALYST),
    "GET /simulations/{simulation_id}": r(ANALYST),
    "GET /simulations/{simulation_id}/report": r(ANALYST),
}
# Routes outside the OpenAPI document, still under the policy.
HIDDEN = {"GET /docs": Spec(public=True), "GET /": Spec(public=True),
          "GET /metrics": Spec(public=True)}
# The web app's pages: static HTML, public (their data comes from the API with a token).
HIDDEN |= {f"GET /app{page}": Spec(public=True)
           for page in ("", "/login", "/park", "/sme", "/factory", "/analyst")}


@dataclass
class Caller:
    name: str
    kind: str  # "anonymous" for no credentials
    role: str
    org: str | None
    token: str | None

    def headers(self) -> dict[str, str]:
        return bearer(self.token) if self.token else {}


@dataclass
class World:
    client: TestClient
    callers: dict[str, Caller]
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # param -> {"A": id, "B": id}
    spare_keys: dict[str, str] = field(default_factory=dict)  # org -> a revocable key id


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def policy_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[TestClient, InMemoryLiveStore]]:
    """One app per backend for the whole module (``client`` below empties it per test)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('policy') / 'sharefab.db'}"
    else:
        url = request.getfixturevalue("pg_schema_url")
    live = InMemoryLiveStore()
    app = create_app(make_settings(url), live=live, clock=lambda: NOW)
    with TestClient(app) as c:
        yield c, live


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        else:  # children first: SQLite enforces the foreign keys
            for table in reversed(Base.metadata.sorted_tables):
                # A trigger refuses DELETE on the audit trail (TRUNCATE above is no DELETE);
                # its rows reference nothing and no status code below depends on them.
                if table.name != "audit_events":
                    conn.execute(table.delete())


@pytest.fixture
def client(policy_app: tuple[TestClient, InMemoryLiveStore]) -> TestClient:
    """The module's app, emptied: no rows, no live states, the default park, platform admin."""
    c, live = policy_app
    _empty(c.app.state.engine)  # type: ignore[attr-defined]
    with live._lock:  # the store has no clear(): it never needs one outside tests
        live._states.clear()
    seed_park(c.app)
    c.headers.pop("Authorization", None)
    c.cookies.clear()
    return as_platform(c)


ORGS = {"plat": "platform", "sme-a": SME, "sme-b": SME, "fac-a": FACTORY, "fac-b": FACTORY,
        "park-a": PARK, "park-b": PARK, "ana-a": ANALYST}
_counter = itertools.count()


def _build(client: TestClient, route: str) -> World:
    client.headers.pop("Authorization", None)  # each call below says who it is
    app = client.app
    callers = {"anonymous": Caller("anonymous", "anonymous", "", None, None)}
    for org, kind in ORGS.items():
        token = grant(app, org_id=org, kind=kind)  # type: ignore[arg-type]
        callers[org] = Caller(org, kind, "admin", org, token)
    callers["sme-a-viewer"] = Caller("sme-a-viewer", SME, "viewer", "sme-a",
                                     grant(app, org_id="sme-a", role="viewer"))  # type: ignore[arg-type]
    callers["sme-a-member"] = Caller("sme-a-member", SME, "member", "sme-a",
                                     grant(app, org_id="sme-a", role="member"))  # type: ignore[arg-type]
    world = World(client, callers)
    admin = callers["plat"].headers()

    def ok(resp: Any) -> Any:
        assert resp.status_code < 300, resp.text
        return resp.json() if resp.content else None

    orders: dict[str, str] = {}
    for side in "AB":
        s = side.lower()
        ok(client.post("/parks", headers=admin, json={"id": f"P{side}", "operator": f"park-{s}"}))
        ok(client.post("/parks", headers=admin,
                       json={"id": f"P{side}-EMPTY", "operator": f"park-{s}"}))
        ok(client.post("/factories", headers=admin, json={
            **b.factory(f"F{side}", park=f"P{side}", resources=[b.resource(f"F{side}-R1")]),
            "org": f"fac-{s}"}))
        ok(client.post("/factories", headers=admin, json={
            **b.factory(f"F{side}-X", park=f"P{side}",
                        resources=[b.resource(f"F{side}-X-R1")]),
            "org": f"fac-{s}"}))
        order = ok(client.post("/orders", headers=callers[f"sme-{s}"].headers(),
                               json=b.order(f"O{side}", parks=[f"P{side}"])))
        orders[side] = order["id"]  # in the SME's namespace: sme-a.OA
        key = ok(client.post(f"/orgs/{'plat' if side == 'A' else 'sme-b'}/keys", headers=admin,
                             json={"label": "spare"}))
        world.spare_keys[side] = key["id"]
    world.ids = {"code": {"A": "machining.cnc_milling", "B": "machining.cnc_milling"},
                 "order_id": orders, "factory_id": {"A": "FA", "B": "FB"},
                 "resource_id": {"A": "FA-R1", "B": "FB-R1"},
                 "park_id": {"A": "PA", "B": "PB"}}
    finished = "ratings" in route  # ratings open once the order is done
    if "{quote_id}" in route or "booking" in route or finished or route == "GET /events/stream":
        for side in "AB":
            quotes = ok(client.post(f"/orders/{orders[side]}/quotes", headers=admin,
                                    params={"time_limit_s": 1}))
            planned = [q for q in quotes if q["plan"]["status"] == "planned"]
            assert planned, quotes
            world.ids.setdefault("quote_id", {})[side] = planned[0]["id"]
    if "booking" in route or finished:
        for side in "AB":
            booked = ok(client.post(f"/quotes/{world.ids['quote_id'][side]}/accept",
                                    headers=admin))
            world.ids.setdefault("booking_id", {})[side] = booked[0]["id"]
            world.ids.setdefault("rated_factory", {})[side] = booked[0]["factory"]
            for lot in booked if finished else []:
                ok(client.post(f"/bookings/{lot['id']}/progress", headers=admin,
                               json={"done": lot["quantity"], "scrap": 0}))
    if "{simulation_id}" in route:  # A: the analyst's own run; B: the platform's
        for side, org in (("A", "ana-a"), ("B", "plat")):
            run = ok(client.post("/simulations", headers=callers[org].headers(),
                                 json=_TINY_SIMULATION))
            world.ids.setdefault("simulation_id", {})[side] = run["id"]
        if route.endswith("/report"):
            for run_id in world.ids["simulation_id"].values():
                _wait_done(client, admin, run_id)
    if "webhook" in route:
        for side in "AB":
            hook = ok(client.post("/webhooks", headers=admin, json={
                "url": "http://127.0.0.1:9/hook", "secret": "s" * 16,
                "customer": f"sme-{side.lower()}"}))
            world.ids.setdefault("webhook_id", {})[side] = hook["id"]
    return world


# The smallest run worth the name: a few factories for a quarter of a day.
_TINY_SIMULATION = {"policies": ["greedy"], "seeds": [1], "days": 0.25,
                    "title": "policy walk"}


def _wait_done(client: TestClient, headers: dict[str, str], run_id: str) -> None:
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"/simulations/{run_id}", headers=headers).json()
        if run["status"] in ("done", "failed"):
            assert run["status"] == "done", run
            return
        time.sleep(0.2)
    raise AssertionError(f"simulation {run_id} did not finish")


def _target(world: World, caller: Caller, route: str, side: str) -> dict[str, str]:
    """Path parameters naming side A's or B's object (for orgs and keys: the caller's own)."""
    params = {k: v[side] for k, v in world.ids.items()}
    if route.startswith("DELETE /parks"):
        params["park_id"] = f"P{side}-EMPTY"  # a park with factories cannot be deleted
    if route.startswith("DELETE /factories"):
        params["factory_id"] = f"F{side}-X"
    if route.startswith("DELETE /resources"):
        params["resource_id"] = f"F{side}-X-R1"
    own = caller.org or "sme-a"
    params["org_id"] = own if side == "A" else ("sme-b" if own != "sme-b" else "sme-a")
    if "{key_id}" not in route:
        return params
    if side == "A":  # a spare key of the caller's own organisation
        key = world.client.post(f"/orgs/{own}/keys", headers=world.callers["plat"].headers(),
                                json={"label": "spare"}).json()
        params["key_id"] = key["id"]
    else:
        params["key_id"] = world.spare_keys["B"]
    return params


def _body(route: str, params: dict[str, str], side: str) -> dict[str, Any] | None:
    n = next(_counter)
    bodies: dict[str, Callable[[], dict[str, Any]]] = {
        "POST /auth/login": lambda: {"email": "walker@example.com", "password": "correct horse!"},
        "POST /orgs": lambda: {"id": f"new-org-{n}", "kind": "sme"},
        "POST /orgs/{org_id}/keys": lambda: {"role": "member"},
        "POST /orgs/{org_id}/users": lambda: {"email": f"u{n}@example.com",
                                              "password": "long enough password"},
        "POST /parks": lambda: {"id": f"PN{n}"},
        "PATCH /parks/{park_id}": lambda: {"name": f"renamed {n}"},
        "POST /factories": lambda: b.factory(f"FN{n}", park="PA",
                                             resources=[b.resource(f"FN{n}-R1")]),
        "PATCH /factories/{factory_id}": lambda: {"rating": 4.5},
        "POST /resources": lambda: {**b.resource(f"RN{n}"),
                                    "factory": "FA" if side == "A" else "FB"},
        "PATCH /resources/{resource_id}": lambda: {"capacity": 2},
        "POST /orders": lambda: b.order(f"ON{n}"),
        "POST /scenario": lambda: {"horizon_start": "2026-12-01T00:00:00Z"},
        "POST /bookings/{booking_id}/decline": lambda: {"reason": "machine down"},
        "POST /bookings/{booking_id}/progress": lambda: {"done": 1, "scrap": 0},
        "POST /webhooks": lambda: {"url": "http://127.0.0.1:9/hook", "secret": "s" * 16,
                                   "customer": "sme-a"},
        "POST /simulations": lambda: _TINY_SIMULATION,
        "POST /orders/{order_id}/ratings": lambda: {
            "side": "customer", "factory": params["rated_factory"], "quality": 5,
            "on_time": 4, "communication": 5},
    }
    make = bodies.get(route)
    return make() if make else None


def _call(world: World, caller: Caller, route: str, side: str) -> int:
    method, template = route.split(" ", 1)
    params = _target(world, caller, route, side)
    path = template.format(**{k: v for k, v in params.items() if "{" + k + "}" in template})
    queries = {"POST /orders/{order_id}/quotes": {"time_limit_s": 1},
               "GET /events/stream": {"max_events": 1},  # the stream closes after one event
               "GET /parks/{park_id}/live": {"max_events": 1}}  # after its snapshot
    query = queries.get(route)
    resp = world.client.request(method, path, headers=caller.headers(),
                                json=_body(route, params, side), params=query)
    return resp.status_code


def _forbidden(spec: Spec, caller: Caller) -> bool:
    if caller.kind != "platform" and caller.kind not in spec.kinds:
        return True
    if spec.admin and caller.role != "admin":
        return True
    return spec.write and caller.role == "viewer"


def _has_object(route: str) -> bool:
    """Routes naming a tenant's object (reference data like process codes belongs to none)."""
    return ("{" in route and "{code}" not in route) or route == "POST /resources"


def _api_routes(routes: list[Any]) -> set[str]:
    """"METHOD /path" of every APIRoute, also inside included routers (FastAPI >= 0.16x keeps
    them in ``original_router``)."""
    out: set[str] = set()
    for rt in routes:
        if isinstance(rt, APIRoute):
            out |= {f"{m} {rt.path}" for m in rt.methods}
        elif hasattr(rt, "original_router"):
            out |= _api_routes(rt.original_router.routes)
    return out


def test_policy__every_route_is_declared(client):
    """Every route of the app has a rule in the policy table and in this test's spec."""
    app_routes = _api_routes(client.app.routes)
    assert app_routes - set(policy.POLICY) == set(), "routes without a declared policy"
    assert app_routes == set(EXPECTED) | set(HIDDEN)
    documented = {f"{m.upper()} {p}" for p, ops in client.get("/openapi.json").json()["paths"]
                  .items() for m in ops}
    assert documented == set(EXPECTED)


def test_policy__undeclared_route_is_platform_only():
    assert policy.rule_for("GET", "/not/declared") == policy.PLATFORM_ONLY
    assert policy.rule_for("GET", "/not/declared").kinds == frozenset()


@pytest.mark.parametrize("route", sorted(EXPECTED))
def test_policy__matrix(client, route):
    """One route, every caller: 401, 403, 404 and 2xx exactly as the issue's matrix says."""
    world = _build(client, route)
    spec = EXPECTED[route]
    if route == "POST /auth/login":
        client.post("/orgs/sme-a/users", headers=world.callers["plat"].headers(),
                    json={"email": "walker@example.com", "password": "correct horse!"})
    outcomes: dict[str, int] = {}
    anonymous = world.callers["anonymous"]
    outcomes["anonymous"] = _call(world, anonymous, route, "A")
    tenants = [c for c in world.callers.values() if c.kind not in ("anonymous", "platform")]
    for caller in tenants:
        if spec.public or not _forbidden(spec, caller):
            continue
        outcomes[caller.name] = _call(world, caller, route, "A")
    allowed = [c for c in tenants if not spec.public and not _forbidden(spec, c)
               and c.org is not None and c.org.endswith("-a")]
    if _has_object(route):
        for caller in allowed:
            outcomes[f"{caller.name} on B"] = _call(world, caller, route, "B")
    # Reads: every allowed caller on its own object; changes: the first admin only (the
    # object is gone or changed after that).
    owners = allowed if route.startswith("GET ") else [c for c in allowed
                                                        if c.role == "admin"][:1]
    for owner in owners:
        outcomes[f"{owner.name} on own"] = _call(world, owner, route, "A")
    if not spec.public:
        outcomes["plat on B"] = _call(world, world.callers["plat"], route, "B")

    expected: dict[str, str] = {}
    for name in outcomes:
        caller = world.callers[name.split(" ")[0]]
        if spec.public:
            expected[name] = "2xx"
        elif caller.kind == "anonymous":
            expected[name] = "401"
        elif name.endswith(" on B") and caller.kind != "platform":
            expected[name] = "404"
        elif name.endswith(" on own") or caller.kind == "platform":
            expected[name] = "2xx"
        else:
            expected[name] = "403"
    # /readyz answers for the dependencies (503 here: the test app runs no matcher worker);
    # what this walk checks is that nobody needs credentials for it.
    def passed(code: int) -> bool:
        return 200 <= code < 300 or (route == "GET /readyz" and code == 503)

    got = {name: "2xx" if passed(code) else str(code) for name, code in outcomes.items()}
    assert got == expected
    if not spec.public:
        assert "plat on B" in got  # the platform admin may do everything
