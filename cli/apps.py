"""The typer apps every command module registers on (one module per area, one owner each)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import typer

app = typer.Typer(
    name="sharefab",
    help="ShareFab: shared-manufacturing capacity platform (共享制造).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
bench_app = typer.Typer(help="Benchmarks; each writes a section of BENCHMARKS.md.",
                        no_args_is_help=True)
worker_app = typer.Typer(help="Background workers (ingest, match, webhooks).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(worker_app, name="worker")


def load_bench(name: str) -> ModuleType:
    """Import ``bench.<name>``.

    bench/ is repository tooling, not an installed package: the checkout root goes on sys.path
    so the console script finds it when run from elsewhere.
    """
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module(f"bench.{name}")
