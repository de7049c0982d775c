"""``sharefab serve`` (the API under uvicorn, optionally with the demo park) and
``sharefab worker match`` (matcher processes on the Redis stream of quote requests)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.panel import Panel

from cli.apps import app, bench_app, load_bench, worker_app


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", "-h", help="interface to listen on"),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="TCP port"),
    demo: bool = typer.Option(False, "--demo", help="seed the demo park and demo gateways"),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level"),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64,
                                help="API processes (uvicorn workers); > 1 needs PostgreSQL, "
                                     "Redis and an MQTT broker"),
) -> None:
    """Run the ShareFab API, web app and /metrics (embedded mode when no URLs are set)."""
    import logging

    import uvicorn

    from cli.preflight import port_problem
    from connectors.broker import free_port
    from services.api.app import create_app
    from services.core.settings import get_settings

    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    console = Console()
    settings = get_settings()
    if workers > 1:
        refusal = several_workers_refusal(settings, demo=demo)
        if refusal:
            console.print(f"[red]error:[/red] --workers {workers}: {refusal}")
            raise typer.Exit(2)
    busy = port_problem(host, port)
    if busy is not None:  # before the demo seeds the database or starts gateways
        console.print(f"[red]error:[/red] cannot listen on {host}:{port}: {busy}. Is another "
                      f"`sharefab serve` running? Pick another port: `make run PORT=8080` or "
                      f"`sharefab serve --port 8080`.")
        raise typer.Exit(1)
    broker = "off (SHAREFAB_MQTT_ENABLED=false)"
    if settings.mqtt_enabled and settings.mqtt_url:
        broker = settings.mqtt_url.split("@")[-1]  # no password in the banner
    elif settings.mqtt_enabled:
        broker_port = settings.mqtt_embedded_port or free_port()
        if settings.mqtt_embedded_port and (why := port_problem("127.0.0.1", broker_port)):
            console.print(f"[red]error:[/red] SHAREFAB_MQTT_EMBEDDED_PORT={broker_port}: {why}")
            raise typer.Exit(1)
        settings = settings.model_copy(update={"mqtt_embedded_port": broker_port})
        broker = f"mqtt://127.0.0.1:{broker_port} (embedded, MQTT 3.1.1)"
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    mode = "embedded (SQLite, in-process Redis stand-in and MQTT broker)" if settings.embedded \
        else "connected to the configured servers"
    console.print(Panel.fit(
        f"[bold]ShareFab[/bold] {'with the demo park ' if demo else ''}— {mode}\n"
        f"web app    [link={base}/app]{base}/app[/link]\n"
        f"API docs   [link={base}/docs]{base}/docs[/link]\n"
        f"metrics    [link={base}/metrics]{base}/metrics[/link]\n"
        f"MQTT       {broker}\n"
        f"database   {settings.sqlalchemy_url.split('@')[-1]}\n"
        f"guide      docs/tutorial.md",
        title="sharefab serve"))
    if workers > 1:
        # uvicorn's supervisor, in place of this process: each worker process imports the app
        # factory and builds its own app from the same SHAREFAB_* environment. (Started from
        # inside the console script, uvicorn's spawned workers die at start.)
        import os
        import sys

        os.execv(sys.executable, [sys.executable, "-m", "uvicorn", "--factory",
                                  "services.api.app:create_app", "--host", host,
                                  "--port", str(port), "--workers", str(workers),
                                  "--log-level", log_level, "--timeout-keep-alive",
                                  str(settings.http_keep_alive_s)])
    uvicorn.run(create_app(settings, demo=demo), host=host, port=port, log_level=log_level,
                timeout_keep_alive=settings.http_keep_alive_s)


def several_workers_refusal(settings: object, *, demo: bool) -> str:
    """Why ``--workers > 1`` cannot run with these settings ("" when it can).

    The embedded mode is one process by design: SQLite takes one writer, the fakeredis
    stand-in and the amqtt broker live inside the process, so a second worker would see a
    different live state and start a second broker on the same port.
    """
    url = str(getattr(settings, "database_url", None) or "")
    missing = [name for name, value in (
        ("SHAREFAB_DATABASE_URL to a PostgreSQL server (not the SQLite file)",
         url and not url.startswith("sqlite")),
        ("SHAREFAB_REDIS_URL (the in-process stand-in is not shared)",
         getattr(settings, "redis_url", None)),
        ("SHAREFAB_MQTT_URL (the embedded broker lives in one process)",
         getattr(settings, "mqtt_url", None) or not getattr(settings, "mqtt_enabled", True)),
    ) if not value]
    if missing:
        return ("several workers need the real servers; the embedded mode is a single "
                "process. Set: " + "; ".join(missing))
    if demo:
        return "--demo seeds and simulates in one process: run it with --workers 1"
    return ""


@worker_app.command("match")
def worker_match(
    consumer: str = typer.Option("", "--consumer", help="consumer name (default host-pid)"),
    claim_idle_s: float = typer.Option(0.0, "--claim-idle-s", min=0.0,
                                       help="take over requests whose lease was not renewed "
                                            "this long (default: SHAREFAB_MATCH_CLAIM_IDLE_S)"),
) -> None:
    """Solve queued quote requests from the Redis stream (needs SHAREFAB_REDIS_URL)."""
    import os
    import signal
    import socket
    import threading
    from datetime import UTC, datetime

    from matching.engine import quote
    from services.core.db import engine_for, make_session_factory, migrate
    from services.core.settings import get_settings
    from services.live.redis_store import make_live_store
    from services.workers.heartbeat import Heartbeat
    from services.workers.ingest import serve_worker_metrics
    from services.workers.match import MatchWorker, QuoteQueue, make_redis

    settings = get_settings()
    if not settings.redis_url:
        raise typer.BadParameter("SHAREFAB_REDIS_URL is unset: a separate matcher process needs "
                                 "the real Redis (the embedded mode matches inside the API)")
    engine = engine_for(settings)
    if settings.migrate_on_start:
        migrate(engine)
    queue = QuoteQueue(make_redis(settings.redis_url, timeout_s=settings.redis_timeout_s),
                       prefix=settings.redis_key_prefix,
                       claim_idle_ms=int((claim_idle_s or settings.match_claim_idle_s) * 1000),
                       max_attempts=settings.match_max_attempts)
    name = consumer or f"{socket.gethostname()}-{os.getpid()}"
    worker = MatchWorker(queue, make_session_factory(engine), make_live_store(settings), quote,
                         lambda: datetime.now(UTC), consumer=name,
                         candidates_per_step=settings.quote_candidates_per_step)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    serve_worker_metrics(settings)
    beat = Heartbeat(queue.client, settings.redis_key_prefix, "match", name,
                     ttl_s=settings.worker_heartbeat_ttl_s).start()
    Console().print(f"match worker [bold]{name}[/bold] on {queue.stream}")
    worker.run(stop)
    beat.stop()
    engine.dispose()


@bench_app.command("api")
def bench_api(
    sizes: str = typer.Option("1000,5000", help="market sizes (resources), comma separated"),
    requests: int = typer.Option(300, min=10, help="requests per measured operation"),
    accepts: int = typer.Option(15, min=1, help="orders quoted and accepted per market"),
) -> None:
    """REST API at market scale on SQLite and PostgreSQL: writes bench/results/api.md."""
    from pathlib import Path

    bench = load_bench("api")
    bench.run(sizes=tuple(int(x) for x in sizes.split(",")), requests=requests,
              accepts=accepts)
    results = Path(__file__).resolve().parents[1] / "bench" / "results" / "api.md"
    Console().print(results.read_text(encoding="utf-8"))


@bench_app.command("load")
def bench_load(
    users: int = typer.Option(30, min=1, help="Locust users (SMEs 2 : park dashboards 3)"),
    duration_s: int = typer.Option(60, "--duration-s", min=5, max=900,
                                   help="how long Locust runs (bounded)"),
    resources: int = typer.Option(1000, min=10, help="market size"),
    mqtt_rate_hz: float = typer.Option(200.0, min=1.0, help="gateway messages per second"),
) -> None:
    """The production shape (2 API, 2 ingest, 2 matcher processes) under the realistic mix,
    on the local PostgreSQL, Redis and Mosquitto: writes bench/results/load.md."""
    bench = load_bench("load")
    result = bench.run(resources=resources, users=users, duration_s=duration_s,
                       mqtt_rate_hz=mqtt_rate_hz)
    Console().print(bench.render(result))
