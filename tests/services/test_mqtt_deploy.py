"""deploy/mosquitto.conf and docker-compose.yml use the generated users and ACL."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONF = (ROOT / "deploy" / "mosquitto.conf").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _active(conf: str) -> list[str]:
    return [line.strip() for line in conf.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_mosquitto_conf__anonymous_off_with_password_file_and_acl():
    lines = _active(CONF)
    assert "allow_anonymous true" not in lines
    assert "per_listener_settings true" in lines
    listeners = [i for i, line in enumerate(lines) if line.startswith("listener ")]
    for start, end in zip(listeners, [*listeners[1:], len(lines)], strict=True):
        block = lines[start:end]
        assert "allow_anonymous false" in block
        assert "password_file /mosquitto/config/acl/passwd" in block
        assert "acl_file /mosquitto/config/acl/acl" in block


def test_compose__broker_mounts_the_acl_and_clients_log_in():
    services = COMPOSE["services"]
    assert "./deploy/mqtt:/mosquitto/config/acl:ro" in services["mosquitto"]["volumes"]
    assert services["api"]["environment"]["SHAREFAB_MQTT_USERNAME"] == "sharefab-dispatcher"
    assert services["ingest"]["environment"]["SHAREFAB_MQTT_USERNAME"] == "sharefab-ingest"
    for name in ("api", "ingest"):
        assert "SHAREFAB_MQTT_PASSWORD" in services[name]["environment"]
    health = " ".join(services["mosquitto"]["healthcheck"]["test"])
    assert "-u sharefab-ingest" in health


def test_gitignore__generated_secrets_never_committed():
    assert "deploy/mqtt/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
