"""The in-process MQTT broker of the embedded mode (``make run``): amqtt on a free local port.

amqtt speaks MQTT 3.1.1 only, so there are no shared subscriptions here (docs/design.md,
"MQTT"): one ingest subscribes plainly, and our clients fall back to 3.1.1 when they meet it
(``connectors.mqtt.negotiate``). Production and the real-server tests use Mosquitto instead.

Two things of amqtt 0.12 are set right here: at connect it hands a client every retained
message matching *any* client's subscription (it loops over the broker-wide table), which
``_OwnRetainedBroker`` limits to the client's own subscriptions as MQTT 3.3.1.3 asks; and it
logs every connect and subscribe at INFO, so its loggers are set to WARNING.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from amqtt.broker import Broker

from connectors.mqtt import BrokerAddress

log = logging.getLogger(__name__)

# amqtt's own loggers ("amqtt.broker", "amqtt.mqtt.protocol...") and the state machine it uses.
_CHATTY_LOGGERS = ("amqtt", "transitions")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (there is a small race; we bind right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def quiet_amqtt_logs(level: int = logging.WARNING) -> None:
    """amqtt says INFO for every client connect and subscribe: half of ``make run``'s log."""
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(level)


class _OwnRetainedBroker(Broker):  # type: ignore[misc]  # amqtt ships no type hints
    """amqtt's broker, sending a client only the retained messages of its own subscriptions.

    amqtt calls ``_publish_retained_messages_for_subscription`` at subscribe time with the
    client's new filter, and at connect time with *every* filter any client holds; we skip a
    filter this session does not hold and use the QoS it was granted.
    """

    async def _publish_retained_messages_for_subscription(
            self, subscription: tuple[str, int], session: Any) -> None:
        topic_filter = subscription[0]
        granted = [qos for holder, qos in self._subscriptions.get(topic_filter, ())
                   if holder is session]
        if not granted:
            return
        await super()._publish_retained_messages_for_subscription(
            (topic_filter, max(granted)), session)


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
        quiet_amqtt_logs()
        self._broker = _OwnRetainedBroker(config)
        await self._broker.start()
        log.info("embedded MQTT broker (amqtt, MQTT 3.1.1) on %s", self.url)
        return self.address

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
