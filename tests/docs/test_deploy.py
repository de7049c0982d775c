"""docker-compose.yml, deploy/prometheus.yml and the Grafana provisioning, checked by reading
them: no Docker engine runs on the development machine, so the compose file has never been
started here. What can be checked without one is: every ``sharefab`` command a service runs
exists, every SHAREFAB_* variable is a setting, every file mounted from the repo is there,
and Prometheus and Grafana point at services, ports and paths that exist.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli import app as cli_app
from services.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# Variables read outside the Settings class (docs/operations.md says where).
NOT_SETTINGS = {"SHAREFAB_WORKER_ID"}
# Made by a command on the host, never committed (credentials): that the command exists is
# checked instead.
GENERATED = {"./deploy/mqtt": ["mqtt", "acl", "--help"]}


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return doc


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return {k: str(v) for k, v in env.items()} if isinstance(env, dict) else {}


@pytest.mark.parametrize("name", sorted(compose()["services"]))
def test_compose__service_commands_env_and_mounts_exist(name: str) -> None:
    service = compose()["services"][name]
    command = service.get("command", [])
    if command and command[0] == "sharefab":
        sub = [a for a in command[1:] if not a.startswith("-")][:2]
        words = sub if sub[:1] == ["worker"] else sub[:1]
        result = CliRunner().invoke(cli_app, [*words, "--help"])
        assert result.exit_code == 0, (command, result.output)
        for option in (a.split("=")[0] for a in command[1:] if a.startswith("--")):
            assert option in result.output, (command, option)
    fields = {f"SHAREFAB_{f.upper()}" for f in Settings.model_fields}
    for var in _env(service):
        if var.startswith("SHAREFAB_"):
            assert var in fields | NOT_SETTINGS, f"{name}: {var} is no setting"
    if "build" in service:
        assert (ROOT / "Dockerfile").is_file()
    for volume in service.get("volumes", []):
        source = volume.split(":", 1)[0]
        if not source.startswith("./"):
            continue  # a named volume
        if source in GENERATED:
            assert CliRunner().invoke(cli_app, GENERATED[source]).exit_code == 0
            continue
        assert (ROOT / source).exists(), f"{name} mounts {source}, not in the repo"


def test_compose__named_volumes_declared_and_depends_on_services() -> None:
    doc = compose()
    services, volumes = doc["services"], set(doc.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith(("./", "/")):
                assert source in volumes, (name, source)
        depends = service.get("depends_on", {})
        assert set(depends) <= set(services), (name, depends)


def test_prometheus__scrapes_the_api_and_workers_where_they_listen() -> None:
    doc = compose()
    services = doc["services"]
    prom = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    mounted = [v for v in services["prometheus"]["volumes"] if v.startswith("./deploy/prometheus")]
    assert mounted
    assert mounted[0].split(":")[1] in services["prometheus"]["command"][0]
    jobs = {job["job_name"]: job for job in prom["scrape_configs"]}
    api_port = services["api"]["command"][services["api"]["command"].index("--port") + 1]
    assert jobs["sharefab-api"]["static_configs"][0]["targets"] == [f"api:{api_port}"]
    for job, service in (("sharefab-ingest", "ingest"), ("sharefab-matcher", "matcher")):
        sd = jobs[job]["dns_sd_configs"][0]
        assert sd["names"] == [service]
        env = _env(services[service])
        assert str(sd["port"]) == env["SHAREFAB_WORKER_METRICS_PORT"]
        assert env["SHAREFAB_WORKER_METRICS_HOST"] == "0.0.0.0"  # reachable from prometheus


def test_grafana__provisioning_points_at_the_mounted_dashboards_and_datasource() -> None:
    services = compose()["services"]
    mounts = dict(v.split(":")[:2] for v in services["grafana"]["volumes"]
                  if v.startswith("./"))
    provisioning = ROOT / "deploy/grafana/provisioning"
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    providers = yaml.safe_load((provisioning / "dashboards/sharefab.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == mounts["./deploy/grafana/dashboards"]
    sources = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    source = sources["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    assert "127.0.0.1:9090:9090" in services["prometheus"]["ports"]
    dashboards = list((ROOT / "deploy/grafana/dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        board = json.loads(path.read_text())
        uids = {p["datasource"]["uid"] for p in board["panels"]}
        uids |= {t["datasource"]["uid"] for p in board["panels"] for t in p["targets"]}
        assert uids == {source["uid"]}, path
        assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


def dashboard_metric_names() -> set[str]:
    """Every ``sharefab_*`` name a query of a provisioned dashboard uses."""
    names: set[str] = set()
    for path in (ROOT / "deploy/grafana/dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
        exprs += [v["query"]["query"] for v in board["templating"]["list"]]
        for expr in exprs:
            found = re.findall(r"\bsharefab_[a-z0-9_]+", expr)
            assert found, f"{path.name}: a query naming no metric of ours: {expr}"
            names |= set(found)
    return names
