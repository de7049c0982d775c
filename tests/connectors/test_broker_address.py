"""``BrokerAddress``: credentials and TLS from the URL or the settings, never dropped."""

from __future__ import annotations

import pytest

from connectors.mqtt import BrokerAddress, TlsFiles, new_client
from services.core.broker import broker_address
from services.core.settings import Settings


def test_url__user_and_password_kept_and_percent_decoded():
    a = BrokerAddress.from_url("mqtt://gw%2FP1%2FF1:p%40ss%3Aw@broker:1884")
    assert (a.host, a.port, a.username, a.password, a.tls) == (
        "broker", 1884, "gw/P1/F1", "p@ss:w", None)


def test_url__mqtts_means_tls_on_8883():
    a = BrokerAddress.from_url("mqtts://u:p@broker")
    assert (a.port, a.tls) == (8883, TlsFiles())


def test_url__ca_file_implies_tls():
    a = BrokerAddress.from_url("mqtt://broker:8884", ca_file="/ca.pem")
    assert a.tls == TlsFiles(ca_file="/ca.pem")


@pytest.mark.parametrize(("url", "kwargs", "words"), [
    ("http://broker", {}, "scheme"),
    ("mqtt://:secret@broker", {}, "without a user"),
    ("mqtts://broker", {"cert_file": "/c.pem"}, "key file"),
])
def test_url__refused_with_a_reason(url, kwargs, words):
    with pytest.raises(ValueError, match=words):
        BrokerAddress.from_url(url, **kwargs)


def test_str__never_shows_the_password():
    a = BrokerAddress.from_url("mqtts://ingest:hunter2@broker")
    assert "hunter2" not in str(a)
    assert "hunter2" not in repr(a)
    assert str(a) == "mqtts://ingest@broker:8883"


def test_settings__credentials_and_tls_files_reach_the_address():
    settings = Settings(mqtt_url="mqtt://broker:1883", mqtt_username="sharefab-ingest",
                        mqtt_password="s3cret", mqtt_ca_file="/etc/ca.pem")
    a = broker_address(settings)
    assert (a.username, a.password, a.port) == ("sharefab-ingest", "s3cret", 1883)
    assert a.tls == TlsFiles(ca_file="/etc/ca.pem")


def test_settings__user_in_the_url_wins():
    settings = Settings(mqtt_url="mqtt://a:b@broker", mqtt_username="c", mqtt_password="d")
    a = broker_address(settings)
    assert (a.username, a.password) == ("a", "b")


def test_new_client__applies_credentials():
    client = new_client(BrokerAddress("127.0.0.1", 1, username="u", password="p"))
    assert (client.username, client.password) == ("u", "p")
