"""GET /processes and GET /materials: the codes a client may use, from domain/."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.materials import MATERIALS
from domain.processes import FAMILIES, PROCESSES, UNITS
from services.api.app import create_app
from services.core.settings import Settings


def _client(tmp_path) -> TestClient:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", environment="test",
                        mqtt_enabled=False, match_in_process=False)
    return TestClient(create_app(settings))


def test_processes__every_code_with_family_names_and_unit(tmp_path):
    with _client(tmp_path) as client:
        answer = client.get("/processes")
    assert answer.status_code == 200
    rows = answer.json()
    assert [r["code"] for r in rows] == list(PROCESSES)
    milling = next(r for r in rows if r["code"] == "machining.cnc_milling")
    assert milling == {"code": "machining.cnc_milling",
                       "family": {"code": "machining", "name": {"zh": "机械加工",
                                                                 "en": "Machining"}},
                       "name": {"zh": "数控铣削", "en": "CNC milling"},
                       "unit": {"code": "piece", "name": {"zh": "件", "en": "piece"}}}
    assert {r["family"]["code"] for r in rows} == set(FAMILIES)
    assert {r["unit"]["code"] for r in rows} <= set(UNITS)
    laser = next(r for r in rows if r["code"] == "cutting.laser")
    assert laser["unit"]["code"] == "m"


def test_processes__family_filter_and_unknown_family(tmp_path):
    with _client(tmp_path) as client:
        welding = client.get("/processes", params={"family": "welding"}).json()
        unknown = client.get("/processes", params={"family": "wizardry"})
        one = client.get("/processes/surface.anodizing")
        missing = client.get("/processes/surface.magic")
    assert {r["code"] for r in welding} == {c for c in PROCESSES if c.startswith("welding.")}
    assert unknown.status_code == 422
    assert "wizardry" in unknown.json()["detail"]
    assert one.json()["name"]["en"] == "Anodizing"
    assert missing.status_code == 404


def test_materials__listed_codes_with_names(tmp_path):
    with _client(tmp_path) as client:
        rows = client.get("/materials").json()
        stainless = client.get("/materials", params={"family": "stainless"}).json()
        typo = client.get("/materials", params={"famly": "stainless"})
    assert [r["code"] for r in rows] == list(MATERIALS)
    al = next(r for r in rows if r["code"] == "al6061")
    assert al["name"] == {"zh": "6061铝合金", "en": "Aluminium 6061"}
    assert al["family"]["code"] == "aluminium"
    assert {r["code"] for r in stainless} == {"ss304", "ss316"}
    assert typo.status_code == 422


def test_materials__cover_every_material_of_the_examples_and_demo():
    from services.flows.demo import PROFILES  # the demo park's machines
    from tests.services import builders as b

    used = {m for profile in PROFILES.values() for _, _, mats, _, _ in profile for m in mats}
    doc = b.example()
    used |= {m for f in doc["factories"] for r in f["resources"] for m in r["materials"]}
    used |= {o["material"] for o in doc["orders"]}
    assert used - set(MATERIALS) == set()
