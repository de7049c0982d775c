"""``sharefab worker webhooks``: webhook deliveries and the quote-expiry sweep, out of the API."""

from __future__ import annotations

import typer
from rich.console import Console

from cli.apps import worker_app


@worker_app.command("webhooks")
def worker_webhooks() -> None:
    """Deliver due webhooks (signed, retried with backoff) and expire lapsed quotes.

    Run beside APIs started with SHAREFAB_HOUSEKEEPING_IN_PROCESS=false; several may run.
    """
    import signal
    import threading

    from services.core.clock import platform_clock
    from services.core.db import make_engine, make_session_factory, migrate
    from services.core.settings import get_settings
    from services.workers.housekeeping import Housekeeper

    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    if settings.migrate_on_start:
        migrate(engine)
    keeper = Housekeeper(make_session_factory(engine), settings, platform_clock(settings))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    Console().print(f"webhook worker every {settings.housekeeping_poll_s} s")
    keeper.run(stop)
    engine.dispose()
    raise typer.Exit(0)
