"""``sharefab simulate``, ``sharefab sweep`` and ``sharefab bench sim``.

Thin: read the config, call ``simulations``, show progress and a summary with rich.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cli.apps import app, bench_app, load_bench
from simulations.config import (
    ConfigError,
    load_config,
    parse_config,
    parse_value,
    read_raw,
    with_params,
)
from simulations.runner import check_policies, run_policies, write_outputs

console = Console()


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}")  # "[sweep]" is not markup
    return typer.Exit(code=2)


def _policies(text: str) -> list[str]:
    try:
        return check_policies(text.split(","))
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description:>8}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("simulated days"), TimeElapsedColumn(), console=console)


@app.command("simulate")
def simulate(
    config: Annotated[Path, typer.Argument(help="market config (YAML), e.g. "
                                           "simulations/examples/market.yaml")],
    policy: Annotated[str, typer.Option(help="comma-separated: cpsat, greedy, single")] =
        "cpsat,greedy,single",
    seed: Annotated[int | None, typer.Option(help="random seed (default: the config's)")] = None,
    out: Annotated[Path, typer.Option(help="directory for kpis.csv, events, report.html")] =
        Path("sim-out"),
    param: Annotated[list[str] | None, typer.Option(
        help="NAME=VALUE override (repeatable), e.g. days=1 or market.mtbf_h=100")] = None,
) -> None:
    """Simulate the market under each policy; write KPIs, event logs and an HTML report."""
    names = _policies(policy)
    try:
        cfg = load_config(config) if not param else parse_config(
            with_params(read_raw(config), _overrides(param)), str(config))
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def tick(name: str, day: int, days: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=days)
            bar.update(tasks[name], completed=day)

        runs = run_policies(cfg, names, seed=seed, progress=tick)
    written = write_outputs(runs, out, title=f"ShareFab market simulation: {config.name}")
    table = Table("policy", "orders", "filled", "on time", "mean lead h", "cost/order CNY",
                  "factories/order", "idle used", title="KPIs")
    for r in runs:
        k = r.kpis
        table.add_row(k.policy, str(k.orders), str(k.filled), f"{k.on_time_rate:.1%}",
                      f"{k.mean_lead_time_h:.1f}", f"{k.cost_per_order:,.2f}",
                      f"{k.factories_per_order:.2f}", f"{k.idle_capacity_used:.1%}")
    console.print(table)
    for p in written:
        console.print(f"wrote {p}")


def _overrides(specs: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--param {spec!r}: write NAME=VALUE (e.g. days=1)")
        out[name.strip()] = parse_value(value.strip())
    return out


@app.command("sweep")
def sweep(
    config: Annotated[Path, typer.Argument(help="market config (YAML)")],
    param: Annotated[list[str], typer.Option(help="NAME=V1,V2,... (repeatable); NAME is an "
                                             "alias like orders_per_day or a dotted path")],
    out: Annotated[Path, typer.Option(help="CSV table, one row per grid point x policy")] =
        Path("sweep.csv"),
    policy: Annotated[str, typer.Option(help="comma-separated policies")] = "cpsat,greedy,single",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address "
                                                    "(default: a local Ray)")] = None,
    num_cpus: Annotated[int | None, typer.Option(help="CPUs of the local Ray")] = None,
    no_ray: Annotated[bool, typer.Option("--no-ray", help="run the grid in this process")] =
        False,
) -> None:
    """Run the simulation over a parameter grid (on Ray) and write one table."""
    from simulations.sweep import (
        RayMissingError,
        parse_grid,
        ray_installed,
        run_sweep,
        write_table,
    )

    names = _policies(policy)
    if not no_ray and not ray_installed() and not ray_address:
        console.print("Ray is not installed (pip install 'sharefab[sweep]'): running the grid "
                      "on a local process pool")
    try:
        raw = read_raw(config)
        grid = parse_grid(param)
        with Progress(TextColumn("[bold]grid points"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("sweep", total=None)

            def done(n: int, total: int) -> None:
                bar.update(task, completed=n, total=total)

            rows = run_sweep(raw, grid, names, ray_address=ray_address, num_cpus=num_cpus,
                             use_ray=not no_ray, on_done=done)
    except (ConfigError, RayMissingError) as exc:
        raise _fail(str(exc)) from None
    path = write_table(rows, list(grid), out)
    console.print(f"wrote {path} ({len(rows)} rows)")



@bench_app.command("sim")
def bench_sim(
    factories: Annotated[int, typer.Option(help="factories in the market")] = 200,
    orders: Annotated[int, typer.Option(help="orders over the whole run (expected)")] = 5000,
    days: Annotated[float, typer.Option(help="simulated days of arrivals")] = 30.0,
    policy: Annotated[str, typer.Option(help="comma-separated policies")] = "cpsat,greedy",
    out: Annotated[Path, typer.Option(help="markdown section")] = Path("bench/results/sim.md"),
) -> None:
    """Wall time of a market-scale simulation (default: 30 days, 200 factories, 5,000 orders)."""
    names = _policies(policy)
    load_bench("sim").run(factories=factories, orders=orders, days=days, policies=names, out=out,
                      console=console)
