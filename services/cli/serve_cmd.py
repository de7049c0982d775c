"""``sharefab serve``: run the API (uvicorn), optionally with the demo park."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.panel import Panel

from services.cli.apps import app


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", "-h", help="interface to listen on"),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="TCP port"),
    demo: bool = typer.Option(False, "--demo", help="seed the demo park and demo gateways"),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level"),
) -> None:
    """Run the ShareFab API, dashboard and /metrics (embedded mode when no URLs are set)."""
    import uvicorn

    from services.api.app import create_app
    from services.settings import get_settings

    settings = get_settings()
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    mode = "embedded (SQLite, in-process Redis stand-in and MQTT broker)" if settings.embedded \
        else "connected to the configured servers"
    Console().print(Panel.fit(
        f"[bold]ShareFab[/bold] {'with the demo park ' if demo else ''}— {mode}\n"
        f"dashboard  [link={base}/]{base}/[/link]\n"
        f"API docs   [link={base}/docs]{base}/docs[/link]\n"
        f"metrics    [link={base}/metrics]{base}/metrics[/link]\n"
        f"database   {settings.sqlalchemy_url.split('@')[-1]}",
        title="sharefab serve"))
    uvicorn.run(create_app(settings, demo=demo), host=host, port=port, log_level=log_level)
