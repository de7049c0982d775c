"""Parameter sweeps: the same simulation over a grid of config values, one task per point.

Each grid point is an independent, seeded simulation of every policy, so points run in any
order on any machine (Ray: local in tests, a cluster address in production) and the table
still comes out the same: rows are sorted by grid position, then policy. Ray is an optional
extra (``pip install 'sharefab[sweep]'``); without it a local grid runs on a process pool of
this machine, and a cluster address is refused with that advice.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

from simulations.config import ConfigError, parse_config, parse_value, with_params
from simulations.kpis import KPI_COLUMNS
from simulations.runner import check_policies, run_policies

Grid = dict[str, list[Any]]
Row = dict[str, Any]


def parse_grid(specs: Sequence[str]) -> Grid:
    """``["orders_per_day=50,100", "mtbf_h=100,300"]`` -> ordered grid; bad specs name the flag."""
    grid: Grid = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise ConfigError(f"--param {spec!r}: write NAME=V1,V2,... "
                              "(e.g. orders_per_day=50,100,200)")
        if name in grid:
            raise ConfigError(f"--param {name}: given twice")
        grid[name] = [parse_value(v.strip()) for v in values.split(",") if v.strip()]
    return grid


def grid_points(grid: Grid) -> list[dict[str, Any]]:
    """Every combination, first parameter slowest."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(grid[n] for n in names))]


def run_point(raw: dict[str, Any], point: dict[str, Any], policies: Sequence[str],
              index: int) -> list[Row]:
    """Simulate every policy at one grid point; rows of grid values plus KPIs."""
    config = parse_config(with_params(raw, point), f"grid point {point}")
    rows = []
    for run in run_policies(config, policies):
        rows.append({"point": index, **point, **asdict(run.kpis)})
    return rows


def check_points(raw: dict[str, Any], points: Sequence[dict[str, Any]]) -> None:
    """Validate every grid point before any work is sent out."""
    for point in points:
        parse_config(with_params(raw, point), f"grid point {point}")


class RayMissingError(RuntimeError):
    """A Ray cluster was asked for and Ray is not installed."""


def ray_installed() -> bool:
    """True when ``import ray`` would find the package (without importing it: it is slow)."""
    try:
        return importlib.util.find_spec("ray") is not None
    except ValueError:  # a stub module in sys.modules without a spec
        return False


def run_sweep(raw: dict[str, Any], grid: Grid, policies: Sequence[str], *,
              ray_address: str | None = None, num_cpus: int | None = None,
              use_ray: bool = True, on_done: Callable[[int, int], None] | None = None
              ) -> list[Row]:
    """Run the grid; with ``use_ray`` on Ray (started here unless already running).

    Without Ray installed, a local grid (no ``ray_address``) runs on a process pool of
    ``num_cpus`` processes (default: the CPU count) instead; a cluster address raises
    ``RayMissingError``.
    """
    names = check_policies(policies)
    points = grid_points(grid)
    check_points(raw, points)
    rows: list[Row] = []
    if not use_ray:
        for i, point in enumerate(points):
            rows.extend(run_point(raw, point, names, i))
            if on_done:
                on_done(i + 1, len(points))
    elif ray_installed():
        rows = _on_ray(raw, points, names, ray_address, num_cpus, on_done)
    elif ray_address:
        raise RayMissingError(f"--ray-address {ray_address}: Ray is not installed; install "
                              "it with pip install 'sharefab[sweep]', or leave out "
                              "--ray-address to run on this machine")
    else:
        rows = _on_processes(raw, points, names, num_cpus, on_done)
    rows.sort(key=lambda r: (r["point"], names.index(r["policy"])))
    return rows


def _on_ray(raw: dict[str, Any], points: list[dict[str, Any]], names: list[str],
            address: str | None, num_cpus: int | None,
            on_done: Callable[[int, int], None] | None) -> list[Row]:
    import ray

    if not ray.is_initialized():
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    task = ray.remote(run_point)
    raw_ref = ray.put(raw)
    pending = [task.remote(raw_ref, p, names, i) for i, p in enumerate(points)]
    rows: list[Row] = []
    done = 0
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            rows.extend(ray.get(ref))
            done += 1
            if on_done:
                on_done(done, len(points))
    return rows


def _on_processes(raw: dict[str, Any], points: list[dict[str, Any]], names: list[str],
                  num_cpus: int | None, on_done: Callable[[int, int], None] | None
                  ) -> list[Row]:
    """The grid on a local process pool: what Ray does on one machine, without Ray."""
    workers = max(1, min(len(points), num_cpus or os.cpu_count() or 1))
    rows: list[Row] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_point, raw, p, names, i) for i, p in enumerate(points)]
        for done, future in enumerate(as_completed(futures), 1):
            rows.extend(future.result())
            if on_done:
                on_done(done, len(points))
    return rows


def to_csv(rows: Sequence[Row], grid_names: Sequence[str]) -> str:
    """One table: point, the grid parameters, then the KPI columns."""
    header = ["point", *grid_names, *KPI_COLUMNS]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(h, "")) for h in header])
    return buf.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def write_table(rows: Sequence[Row], grid_names: Sequence[str], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_csv(rows, grid_names), encoding="utf-8")
    return path
