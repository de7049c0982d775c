"""The in-process MQTT broker of the embedded mode (``make run``): amqtt on a free local port.

amqtt speaks MQTT 3.1.1 only, so there are no shared subscriptions here (DESIGN 6): one
ingest subscribes plainly. Production and the real-server tests use Mosquitto instead.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from amqtt.broker import Broker

from connectors.mqtt import BrokerAddress

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (there is a small race; we bind right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    """Start and stop an amqtt broker on the running asyncio loop."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._broker: Any = None

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress(self.host, self.port, mqtt5=False)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> BrokerAddress:
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Only anonymous auth on localhost: the default $SYS and packet-logging plugins
            # cost time and say nothing in the demo.
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                        {"allow_anonymous": True}},
        }
        self._broker = Broker(config)
        await self._broker.start()
        log.info("embedded MQTT broker (amqtt, MQTT 3.1.1) on %s", self.url)
        return self.address

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
