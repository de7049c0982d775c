"""``sharefab mqtt acl --out DIR`` from the factories registered in the database."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli import app as cli_app
from services.api.app import create_app
from services.core.settings import get_settings
from services.live.memory import InMemoryLiveStore
from tests.services import builders as b
from tests.services.auth_helpers import as_platform
from tests.services.conftest import make_settings


@pytest.fixture
def registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'sharefab.db'}"
    with TestClient(create_app(make_settings(url), live=InMemoryLiveStore())) as plain:
        client = as_platform(plain)
        for park in ("P1", "P2"):
            assert client.post("/parks", json={"id": park, "name": park}).status_code == 201
        for fid, park in (("F1", "P1"), ("F2", "P1"), ("G1", "P2")):
            assert client.post("/factories", json=b.factory(fid, park=park,
                               resources=[b.resource(f"{fid}-R1")])).status_code == 201
    monkeypatch.setenv("SHAREFAB_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(out: Path, *extra: str) -> str:
    result = CliRunner().invoke(cli_app, ["mqtt", "acl", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def credentials(out: Path) -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads((out / "credentials.json").read_text())
    return loaded


def test_mqtt_acl__one_user_per_factory_and_the_platform(registered: str, tmp_path: Path):
    out = tmp_path / "mqtt"
    printed = run(out)
    creds = credentials(out)
    assert set(creds) == {"sharefab-ingest", "sharefab-dispatcher", "sharefab-platform",
                          "gw/P1/F1", "gw/P1/F2", "gw/P2/G1"}
    assert "3 factory gateways" in printed
    for password in (c["password"] for c in creds.values()):
        assert password not in printed  # shown only in the 0600 files
    acl = (out / "acl").read_text()
    block = acl.split("user gw/P1/F1\n")[1].split("\n\n")[0].splitlines()
    assert block == ["topic write sharefab/v1/P1/F1/+/state",
                     "topic write sharefab/v1/P1/F1/+/availability",
                     "topic write sharefab/v1/P1/F1/+/progress",
                     "topic write sharefab/v1/P1/F1/gateway/status",
                     "topic read sharefab/v1/P1/F1/+/work-orders"]
    assert acl.lstrip().startswith("#")
    assert "\ntopic" not in acl.split("\nuser ")[0]


def test_mqtt_acl__secrets_mode_0600_and_hashes_verify(registered: str, tmp_path: Path):
    out = tmp_path / "mqtt"
    run(out)
    for name in ("credentials.json", "platform.env"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    creds = credentials(out)
    for line in (out / "passwd").read_text().splitlines():
        user, hashed = line.split(":", 1)
        _, kind, iterations, salt, digest = hashed.split("$")
        assert kind == "7"
        expected = hashlib.pbkdf2_hmac("sha512", creds[user]["password"].encode(),
                                       base64.b64decode(salt), int(iterations))
        assert base64.b64decode(digest) == expected
    env = (out / "platform.env").read_text()
    assert f"SHAREFAB_MQTT_INGEST_PASSWORD={creds['sharefab-ingest']['password']}\n" in env


def test_mqtt_acl__rerun_keeps_passwords_and_rotate_renews_them(registered: str,
                                                                tmp_path: Path):
    out = tmp_path / "mqtt"
    run(out)
    first = credentials(out)
    assert "0 new" in run(out)
    assert credentials(out) == first
    run(out, "--rotate")
    rotated = credentials(out)
    assert all(rotated[u]["password"] != first[u]["password"] for u in first)


def test_mqtt_acl__refuses_a_credentials_file_it_did_not_write(registered: str,
                                                               tmp_path: Path):
    out = tmp_path / "mqtt"
    out.mkdir()
    (out / "credentials.json").write_text("[1, 2]")
    result = CliRunner().invoke(cli_app, ["mqtt", "acl", "--out", str(out)])
    assert result.exit_code != 0
    assert "--rotate" in result.output


def test_gateway_credentials__each_factory_logs_in_as_its_own_user(tmp_path: Path) -> None:
    import typer

    from cli.mqtt_acl_cmd import write_acl_dir
    from cli.mqtt_cmd import _as_gateway, _gateway_logins
    from connectors.mqtt import BrokerAddress

    write_acl_dir(tmp_path, [("P1", "F1"), ("P1", "F2")])
    logins = _gateway_logins(tmp_path / "credentials.json")
    assert set(logins) == {"gw/P1/F1", "gw/P1/F2"}  # platform users are not gateways
    base = BrokerAddress("127.0.0.1", 1883)
    f2 = _as_gateway(base, logins, "P1", "F2")
    assert (f2.username, f2.password) == ("gw/P1/F2", logins["gw/P1/F2"])
    with pytest.raises(typer.BadParameter, match="gw/P1/F9"):
        _as_gateway(base, logins, "P1", "F9")
    assert _as_gateway(base, {}, "P1", "F9") == base  # no file: the address as given
