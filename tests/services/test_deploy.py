"""docker-compose.yml and the Dockerfile cannot run here; these checks keep them consistent
with the settings, the CLI and the package list."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

import cli  # registers every command module
from cli.apps import app
from services.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
_ = cli


def _sharefab_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in COMPOSE["services"].items()
            if svc.get("image", "").startswith("sharefab") or "build" in svc}


def test_compose__every_sharefab_variable_is_a_setting():
    fields = {f"SHAREFAB_{name.upper()}" for name in Settings.model_fields}
    for name, svc in _sharefab_services().items():
        unknown = {k for k in svc["environment"] if k.startswith("SHAREFAB_")} - fields
        assert not unknown, f"{name}: {unknown} are not fields of Settings"


def test_compose__every_command_exists_in_the_cli():
    runner = CliRunner()
    commands = {tuple(svc["command"]) for svc in _sharefab_services().values()}
    assert ("sharefab", "worker", "ingest") in commands
    assert ("sharefab", "worker", "match") in commands
    for command in commands:
        words = [w for w in command[1:] if not w.startswith("-")][:2]
        words = [w for w in words if w in ("serve", "worker", "ingest", "match")]
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, f"{command}: {result.output}"


def test_compose__servers_have_healthchecks_and_volumes():
    for name in ("postgres", "redis", "mosquitto", "api"):
        assert "healthcheck" in COMPOSE["services"][name], name
    for name in ("postgres", "redis", "mosquitto"):
        assert COMPOSE["services"][name]["volumes"], name
    mounted = " ".join(COMPOSE["services"]["mosquitto"]["volumes"])
    assert "./deploy/mosquitto.conf" in mounted
    assert (ROOT / "deploy" / "mosquitto.conf").is_file()


def test_dockerfile__copies_every_package_of_the_distribution():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]
                ["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(),
                            flags=re.MULTILINE))
    assert packages <= copied
