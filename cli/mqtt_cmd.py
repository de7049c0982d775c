"""Commands of the MQTT side: ``worker ingest``, ``gateway``, ``bench ingest``."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import typer

from cli.apps import app, bench_app, load_bench, worker_app
from connectors.mqtt import BrokerAddress

log = logging.getLogger(__name__)


@worker_app.command("ingest")
def worker_ingest(
    log_level: str = typer.Option("INFO", help="Python logging level."),
    park: str | None = typer.Option(
        None, "--park", help="Consume only this park's topics (sharefab/v1/PARK/#): one worker "
                             "group per park. Default: every park."),
) -> None:
    """Consume gateway messages (shared subscription $share/ingest/sharefab/v1/#) into Redis
    and the database. Start several for more throughput; needs SHAREFAB_MQTT_URL and
    SHAREFAB_REDIS_URL."""
    from connectors.topics import ROOT
    from services.core.settings import get_settings
    from services.workers.ingest import run

    if park is not None and not park.replace("-", "").replace("_", "").isalnum():
        raise typer.BadParameter("a park id: letters, digits, - and _", param_hint="--park")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    run(get_settings(), topic_filter=f"{ROOT}/{park}/#" if park else None)


def _factories_from_db(park: str, limit: int) -> dict[str, list[str]]:
    """Factories of ``park`` the platform's database knows (empty when there is none)."""
    from services.core.db import make_engine, make_session_factory
    from services.core.settings import get_settings
    from services.workers.ingest import DbDirectory

    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        directory = DbDirectory(make_session_factory(engine))
        found = {f: rids for (p, f), rids in sorted(directory.factories().items()) if p == park}
    finally:
        engine.dispose()
    return dict(list(found.items())[:limit])


@app.command("gateway")
def gateway(
    park: str = typer.Option(..., "--park", help="Park id the simulated factories belong to."),
    factories: int = typer.Option(1, "--factories", min=1, max=1000,
                                  help="How many factory gateways to simulate."),
    rate: float = typer.Option(1.0, "--rate", min=0.01, max=1000.0,
                               help="Ticks per second (one state message per resource each)."),
    resources: int = typer.Option(3, "--resources", min=1, max=100,
                                  help="Resources per factory when inventing factories."),
    mqtt_url: str | None = typer.Option(None, "--mqtt-url",
                                        help="Broker URL; default SHAREFAB_MQTT_URL."),
    from_db: bool = typer.Option(True, help="Use the factories of PARK stored in the database "
                                            "when there are any; else invent P-F1.."),
    seed: int = typer.Option(0, help="Seed of the simulated breakdowns and windows."),
    credentials: Path | None = typer.Option(
        None, "--credentials", help="credentials.json of `sharefab mqtt acl`: each simulated "
                                    "factory logs in as its own gateway user."),
) -> None:
    """Simulate factory edge gateways: state, idle windows, breakdowns; answer work orders."""
    from connectors.gateway import SimulatedGateway
    from connectors.mqtt import negotiate
    from services.core.broker import broker_address
    from services.core.clock import platform_clock
    from services.core.settings import get_settings

    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(message)s")
    url = mqtt_url or get_settings().mqtt_url
    if not url:
        raise typer.BadParameter("no broker: pass --mqtt-url or set SHAREFAB_MQTT_URL",
                                 param_hint="--mqtt-url")
    try:
        # Mosquitto speaks MQTT 5, the embedded broker of `sharefab serve` only 3.1.1.
        # Credentials and TLS files: the URL's, else the settings' (services.core.broker).
        address = negotiate(broker_address(get_settings(), url))
    except (ValueError, ConnectionError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    chosen: dict[str, list[str]] = {}
    if from_db:
        try:
            chosen = _factories_from_db(park, factories)
        except Exception as exc:  # no database is fine: invent factories
            log.info("no factories from the database (%s); inventing them", exc)
    if not chosen:
        chosen = {f"{park}-F{i + 1}": [f"{park}-F{i + 1}-R{j + 1}" for j in range(resources)]
                  for i in range(factories)}
    logins = _gateway_logins(credentials) if credentials else {}
    clock = platform_clock(get_settings())  # SHAREFAB_CLOCK_*: the platform's own time
    gateways = [SimulatedGateway(_as_gateway(address, logins, park, f), park, f, rids,
                                 rate_hz=rate, seed=seed + i, clock=clock)
                for i, (f, rids) in enumerate(chosen.items())]
    stuck = [gw.factory for gw in gateways if not gw.start(timeout_s=10.0)]
    if stuck:
        for gw in gateways:
            gw.stop()
        typer.echo(f"error: {len(stuck)} of {len(gateways)} gateways could not connect and "
                   f"subscribe to {address} within 10 s ({', '.join(stuck[:5])}); nothing is "
                   "published", err=True)
        raise typer.Exit(1)
    protocol = "MQTT 5" if address.mqtt5 else "MQTT 3.1.1"
    typer.echo(f"{len(gateways)} gateways of park {park} publishing to {address} "
               f"({protocol}) at {rate} Hz "
               f"({sum(len(r) for r in chosen.values())} resources); Ctrl-C stops")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    for gw in gateways:
        gw.stop()


def _gateway_logins(path: Path) -> dict[str, str]:
    """username -> password of the gateway users in a credentials file."""
    import json

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: str(v["password"]) for name, v in raw.items()
                if v.get("role") == "gateway"}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}",
                                 param_hint="--credentials") from exc


def _as_gateway(address: BrokerAddress, logins: dict[str, str], park: str,
                factory: str) -> BrokerAddress:
    """The address with factory's own gateway login, when the credentials file has one."""
    from dataclasses import replace

    from connectors.broker_acl import gateway_username

    name = gateway_username(park, factory)
    if name not in logins:
        if logins:
            raise typer.BadParameter(f"no gateway user {name} in the credentials file; run "
                                     f"`sharefab mqtt acl` again", param_hint="--credentials")
        return address
    return replace(address, username=name, password=logins[name])


@bench_app.command("ingest")
def bench_ingest(
    messages: int = typer.Option(20_000, min=100, max=1_000_000,
                                 help="Messages per measured run."),
    processes: int = typer.Option(2, min=1, max=8,
                                  help="Ingest processes sharing the subscription."),
    out: Path = typer.Option(Path("bench/results/ingest.md"), help="Markdown section to write."),
) -> None:
    """MQTT ingest throughput (QoS 0/1) and latency vs mosquitto_sub and a bare paho client."""
    bench = load_bench("ingest")
    typer.echo(bench.run(messages=messages, processes=processes, out=out))
