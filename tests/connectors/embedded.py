"""The embedded amqtt broker on a background event loop, for tests that talk MQTT to it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from connectors.broker import EmbeddedBroker


@contextmanager
def running_broker() -> Iterator[EmbeddedBroker]:
    """Start an ``EmbeddedBroker`` on a free port; stop it and its loop afterwards."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="amqtt-test", daemon=True)
    thread.start()
    broker = EmbeddedBroker()
    asyncio.run_coroutine_threadsafe(broker.start(), loop).result(15)
    try:
        yield broker
    finally:
        asyncio.run_coroutine_threadsafe(broker.stop(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
