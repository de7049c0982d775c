"""Property: whatever JSON arrives, the API answers below 500 and a refusal writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.api.app import create_app
from services.live.memory import InMemoryLiveStore
from tests.services import builders as b
from tests.services.auth_helpers import as_platform
from tests.services.conftest import NOW, make_settings, row_counts

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def sqlite_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    app = create_app(make_settings(url), live=InMemoryLiveStore(), clock=lambda: NOW)
    with TestClient(app) as client:
        as_platform(client)
        assert client.post("/scenario", json=b.example()).status_code == 200
        yield client


def _mutate(doc: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    """``doc`` with the field at ``path`` (followed as far as it exists) set to ``value``."""
    node: Any = doc
    for key in path[:-1]:
        in_dict = isinstance(node, dict) and key in node
        in_list = isinstance(node, list) and isinstance(key, int) and key < len(node)
        if in_dict or in_list:
            node = node[key]
    last = path[-1]
    if isinstance(node, dict):
        node[str(last)] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    return doc


# The module-scoped client is shared on purpose: each example restores what it changed.
FUZZ = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
ORDER_PATHS = [["id"], ["quantity"], ["due"], ["pricing"], ["min_lot"], ["steps"],
               ["steps", 0], ["steps", 0, "after"], ["steps", 0, "process"],
               ["steps", 0, "minutes_per_piece"], ["value"], ["colour"]]
FACTORY_PATHS = [["id"], ["lat"], ["park"], ["resources"], ["resources", 0, "capacity"],
                 ["resources", 0, "windows"], ["resources", 0, "windows", 0, "end"],
                 ["resources", 0, "pricing"], ["resources", 0, "id"], ["certifications"]]


@FUZZ
@given(path=st.sampled_from(ORDER_PATHS), value=JSON)
def test_fuzz__post_orders_never_500(sqlite_client, path, value):
    _check(sqlite_client, "/orders", _mutate(b.order("OF"), path, value))


@FUZZ
@given(path=st.sampled_from(FACTORY_PATHS), value=JSON)
def test_fuzz__post_factories_never_500(sqlite_client, path, value):
    _check(sqlite_client, "/factories", _mutate(b.factory("FF"), path, value))


@FUZZ
@given(body=JSON)
def test_fuzz__post_scenario_arbitrary_json_never_500(sqlite_client, body):
    before = row_counts(sqlite_client)
    answer = sqlite_client.post("/scenario", json=body)
    assert 400 <= answer.status_code < 500
    assert answer.json()["detail"]
    assert row_counts(sqlite_client) == before


def _check(client: TestClient, path: str, body: dict[str, Any]) -> None:
    before = row_counts(client)
    answer = client.post(path, json=body)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()["detail"]
        assert row_counts(client) == before
    else:
        # a harmless mutation was accepted: remove it, back to the shared starting point
        assert client.delete(f"{path}/{answer.json()['id']}").status_code == 204
