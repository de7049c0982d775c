"""The broker address every MQTT client of the platform uses, read from the settings.

One function, so the ingest worker, the API's dispatcher and the ``gateway`` command all log in
the same way (user, password, TLS files) and none of them drops the credentials.
"""

from __future__ import annotations

from connectors.mqtt import BrokerAddress
from services.core.settings import Settings


def broker_address(settings: Settings, url: str | None = None, *,
                   mqtt5: bool = True) -> BrokerAddress:
    """``url`` (default ``settings.mqtt_url``) with the settings' credentials and TLS files."""
    target = url or settings.mqtt_url
    if not target:
        raise ValueError("no broker configured: set SHAREFAB_MQTT_URL")
    password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    return BrokerAddress.from_url(
        target, mqtt5=mqtt5, username=settings.mqtt_username, password=password,
        ca_file=_text(settings.mqtt_ca_file), cert_file=_text(settings.mqtt_cert_file),
        key_file=_text(settings.mqtt_key_file))


def _text(path: object) -> str | None:
    return None if path is None else str(path)
