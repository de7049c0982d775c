"""The MQTT side of the API process: broker (embedded mode), ingest, dispatcher, demo gateways.

The API lifespan builds one ``MqttRuntime`` and awaits ``start()`` / ``stop()``. With
``mqtt_url`` unset it starts the amqtt broker in-process on a free port (MQTT 3.1.1: a plain
subscription), the ingest and the dispatcher against it, and with ``demo=True`` a simulated
gateway per factory in the database, so ``make run`` shows a live park. With ``mqtt_url`` set
it connects to that broker instead (MQTT 5, shared subscription), and leaves the ingest to
``sharefab worker ingest`` processes when ``mqtt_in_process`` is false.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from connectors.broker import EmbeddedBroker
from connectors.dispatch import Dispatcher
from connectors.gateway import SimulatedGateway
from connectors.ingest import Ingest
from connectors.metrics import register_mqtt_metrics
from connectors.mqtt import BrokerAddress, IngestClient, Publisher
from services.bookings.dispatch import work_order_fields
from services.core.broker import broker_address
from services.core.settings import Settings
from services.live.redis_store import RedisLiveStore
from services.workers.ingest import DbDirectory, DbEffects, effects_for

log = logging.getLogger(__name__)


class MqttRuntime:
    def __init__(self, settings: Any, live: RedisLiveStore,
                 session_factory: sessionmaker[Session], demo: bool = False,
                 demo_rate_hz: float = 0.2,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if not isinstance(live, RedisLiveStore):
            raise TypeError("MqttRuntime needs the Redis-backed live store (make_live_store)")
        self.settings = settings
        self.live = live
        self.session_factory = session_factory
        self.demo = demo
        self.demo_rate_hz = demo_rate_hz
        self.clock = clock  # the API's: progress and repairs judge lots on its time
        self.broker: EmbeddedBroker | None = None
        self.address: BrokerAddress | None = None
        self.directory = DbDirectory(session_factory)
        self.ingest_client: IngestClient | None = None
        self.publisher: Publisher | None = None
        self.dispatcher: Dispatcher | None = None
        self.effects: DbEffects | None = None
        self.gateways: list[SimulatedGateway] = []

    async def start(self) -> None:
        url = getattr(self.settings, "mqtt_url", None)
        if url:
            # Credentials and TLS files come from the same settings (services.core.broker).
            self.address = (broker_address(self.settings) if isinstance(self.settings, Settings)
                            else BrokerAddress.from_url(url, mqtt5=True))
        else:
            self.broker = EmbeddedBroker(port=getattr(self.settings, "mqtt_embedded_port", None))
            self.address = await self.broker.start()
        register_mqtt_metrics(self.live.state)
        if not url or getattr(self.settings, "mqtt_in_process", True):
            self.effects = effects_for(self.settings, self.session_factory,
                                       unavailable=self.live.unavailable, clock=self.clock)
            ingest = Ingest(self.live.state, self.directory, self.effects)
            self.ingest_client = IngestClient(
                self.address, ingest, group=getattr(self.settings, "mqtt_share_group", "ingest"),
                hold_acks=self.broker is None)  # embedded: the broker dies with us anyway
            if not await asyncio.to_thread(self.ingest_client.start, 10.0):
                log.warning("MQTT ingest not subscribed yet; it keeps retrying")
        self.publisher = Publisher(self.address)
        await asyncio.to_thread(self.publisher.start, 10.0)
        self.dispatcher = Dispatcher(self.publisher, self.directory, work_order_fields)
        if self.effects is not None:  # repaired work orders go out like accepted ones
            self.effects.dispatch = self.dispatcher.dispatch
        if self.demo:
            await asyncio.to_thread(self._start_demo_gateways)

    def _start_demo_gateways(self) -> None:
        assert self.address is not None
        for i, ((park, factory), rids) in enumerate(sorted(self.directory.factories().items())):
            gw = SimulatedGateway(self.address, park, factory, rids, rate_hz=self.demo_rate_hz,
                                  seed=i)
            gw.start()
            self.gateways.append(gw)
            # amqtt 0.12 iterates its subscription table while a new session subscribes
            # ("dictionary changed size during iteration"): let each gateway settle first.
            time.sleep(0.02)
        log.info("demo: %d simulated gateways publishing", len(self.gateways))

    async def stop(self) -> None:
        def _stop_clients() -> None:
            for gw in self.gateways:
                gw.stop()
            if self.publisher is not None:
                self.publisher.stop()
            if self.ingest_client is not None:
                self.ingest_client.stop()

        await asyncio.to_thread(_stop_clients)
        self.gateways.clear()
        if self.broker is not None:
            await self.broker.stop()
            self.broker = None
