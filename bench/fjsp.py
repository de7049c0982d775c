"""FJSP benchmark: Brandimarte mk01-mk10, makespan vs best known, for two engines.

``platform`` (the default): the engine the platform runs. The instance becomes a market
(``bench.fjsp_market``: each job an order of one piece, its operations a chain of steps, each
machine a resource with the step's own cycle time on it, no transport, makespan the whole
objective) solved by ``matching.engine.solve``, the batch solve's path, with its defaults but the
time limit; every plan passes the independent plan checker. Its baseline is the engine's greedy
on the same market.

``fjsp``: the FJSP-only search of ``matching.fjsp`` (a subpackage beside the matcher that no
quote, batch solve or repair calls): a multi-start dispatch schedule, the full FJSP CP-SAT
model hinted with it for a fifth of the budget (its bound is the reported bound), then a tabu
search (``matching.fjsp.tabu``) and CP-SAT large neighbourhood search (``matching.fjsp.lns``)
side by side on one shared incumbent, with a full-model restart whenever both stall. The tabu
kernels are compiled (or loaded from Numba's cache) before the clock starts. Its baseline is
the earliest-finish list schedule of ``matching.greedy`` on the FJSP problem.

Every schedule is re-checked here (eligible machine, duration, no overlap, job order) before
it is reported; each row says which engine produced it.

The JSON of a run keeps what the section states besides the rows (date, budget, load) in
``<json>.meta.json``, so the section's text can be re-rendered from a stored run after the prose
changes, keeping the date it was measured (``render_stored()``), without a re-run.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from bench.fjsp_market import solve_as_market
from matching.cpsat import Budget
from matching.fjsp import Scheduled, greedy_fjsp, makespan, parse_fjs, solve_fjsp
from matching.fjsp.lns import Jobs, trivial_bound
from matching.fjsp.tabu import warm_up

ROOT = Path(__file__).resolve().parents[1]
# The ten Brandimarte files are in the repository (bench/instances/README.md: source, licence).
DEFAULT_DIR = ROOT / "bench" / "instances" / "brandimarte"
RESULTS = ROOT / "bench" / "results"

INSTANCES = ROOT / "bench" / "instances"
# Best known makespans (upper bounds) and their status (closed: LB = UB): ScheduleOpt FJSPLib,
# flexible-jobshop/solutions/bks.json, commit 79f0edc1a2e95ed0e3cc105e79a6d03910a6d091, fields
# lower_bound and upper_bound (CC BY-SA 4.0; only these numbers are kept, in the CSV below, see
# bench/instances/README.md).
FJSPLIB_BKS = INSTANCES / "bounds" / "fjsplib_bks.csv"
# The full published sets kept here: Hurink rdata and vdata (66 each), Dauzere-Peres & Paulli (18).
FULL = sorted([*(INSTANCES / "hurink" / "rdata").glob("*.fjs"),
               *(INSTANCES / "hurink" / "vdata").glob("*.fjs"),
               *(INSTANCES / "dauzere").glob("*.fjs")])
# The subset of those sets that `make bench` runs with both engines (the small closed ones
# and a few harder ones; named, so a fuller folder does not change it).
SUBSET_NAMES = ("rdata/la01", "rdata/la02", "rdata/la03", "rdata/la04", "rdata/la05",
                "rdata/la21", "rdata/la36", "vdata/la01", "vdata/la02", "vdata/la03",
                "vdata/la04", "vdata/la05", "vdata/la21", "vdata/la36",
                "01a", "02a", "03a", "07a", "13a")
# PyJobShop's CP-SAT runs (OR-Tools 9.11, 900 s, 8 workers) on the instances kept here:
# PyJobShop/Experiments data/results.csv (MIT), commit 754bb11 (bench/instances/README.md).
PYJOBSHOP = INSTANCES / "bounds" / "pyjobshop_cpsat_900s.csv"


def _read_bks() -> dict[str, int]:
    """instance -> best known makespan (upper bound), for every instance in FJSPLIB_BKS."""
    with FJSPLIB_BKS.open(newline="") as f:
        return {r["instance"]: int(r["upper_bound"]) for r in csv.DictReader(f)}


BKS = _read_bks()


def pyjobshop_900s() -> dict[str, tuple[str, float, float]]:
    """instance -> (status, makespan, bound) of PyJobShop's 900 s CP-SAT run."""
    out = {}
    for line in PYJOBSHOP.read_text().splitlines()[1:]:
        name, status, objective, bound, _ = line.split(",")
        out[name] = (status, float(objective), float(bound))
    return out


def check_schedule(jobs: Jobs, schedule: list[Scheduled]) -> None:
    """Raise AssertionError unless ``schedule`` is a valid FJSP schedule of ``jobs``."""
    seen = {(s.job, s.op) for s in schedule}
    expected = {(j, i) for j, ops in enumerate(jobs, 1) for i in range(1, len(ops) + 1)}
    assert seen == expected, "missing operations"
    assert len(schedule) == len(expected), "repeated operations"
    by_machine: dict[int, list[Scheduled]] = {}
    for s in schedule:
        durations = dict(jobs[s.job - 1][s.op - 1])
        assert s.machine in durations, f"J{s.job} O{s.op} on ineligible machine {s.machine}"
        assert s.end - s.start == durations[s.machine], f"J{s.job} O{s.op} wrong duration"
        assert s.start >= 0
        by_machine.setdefault(s.machine, []).append(s)
    for ops in by_machine.values():
        # An operation of zero time (Hurink orb7 has one) holds the machine for no time, as a
        # zero-size interval does in CP-SAT's no-overlap: it may sit inside another's run.
        held = sorted((s for s in ops if s.end > s.start), key=lambda s: s.start)
        for a, b in itertools.pairwise(held):
            assert b.start >= a.end, f"overlap on machine {a.machine}"
    ends = {(s.job, s.op): s.end for s in schedule}
    for s in schedule:
        if s.op > 1:
            assert s.start >= ends[(s.job, s.op - 1)], f"J{s.job} O{s.op} starts too early"


Engine = Literal["platform", "fjsp", "platform-lns"]
ENGINES: tuple[Engine, ...] = ("platform", "fjsp")  # what `make bench` measures first
# The engine's opt-in large neighbourhood search (SolveOptions.improve_share), against today's
# platform path in a run of its own.
LNS_ENGINES: tuple[Engine, ...] = ("platform", "platform-lns")
LNS_SHARE = 0.5


def solve_instance(path: Path, time_limit_s: float, workers: int,
                   engine: Engine = "platform") -> dict[str, Any]:
    """One instance by one engine, its schedule and its baseline's checked; one JSON row."""
    if engine == "platform":
        return _solve_on_platform(path, time_limit_s, workers)
    if engine == "platform-lns":
        return _solve_on_platform(path, time_limit_s, workers, LNS_SHARE)
    if engine == "fjsp":
        return _solve_fjsp_only(path, time_limit_s, workers)
    raise ValueError(f"engine must be one of {get_args(Engine)}, not {engine!r}")


def _solve_on_platform(path: Path, time_limit_s: float, workers: int,
                       improve_share: float = 0.0) -> dict[str, Any]:
    jobs = parse_fjs(path.read_text())
    baseline = solve_as_market(jobs, time_limit_s=time_limit_s, workers=workers,
                               policy="greedy").schedule
    check_schedule(jobs, baseline)
    cpu0 = time.process_time()
    found = solve_as_market(jobs, time_limit_s=time_limit_s, workers=workers,
                            improve_share=improve_share)
    cpu = round(time.process_time() - cpu0, 1)
    check_schedule(jobs, found.schedule)
    span = makespan(found.schedule)
    # CP-SAT's objective bound of the general model, floored by the trivial bound.
    bound = max(trivial_bound(jobs), math.ceil(found.bound_min - 1e-6))
    assert bound <= span, "bound above a feasible makespan"
    status = "OPTIMAL" if span <= bound else found.status
    return _row(path, "platform-lns" if improve_share else "platform", found.schedule, bound,
                status, makespan(baseline), found.wall_s, {"cpu_s": cpu})


def _solve_fjsp_only(path: Path, time_limit_s: float, workers: int) -> dict[str, Any]:
    jobs = parse_fjs(path.read_text())
    greedy_schedule = greedy_fjsp(jobs)
    check_schedule(jobs, greedy_schedule)
    t0, cpu0 = time.perf_counter(), time.process_time()
    schedule, found = solve_fjsp(jobs, Budget(time_limit_s, workers))
    wall, cpu = time.perf_counter() - t0, round(time.process_time() - cpu0, 1)
    check_schedule(jobs, schedule)
    assert found.makespan == makespan(schedule), "reported makespan differs from the schedule"
    assert found.bound <= makespan(schedule), "bound above a feasible makespan"
    stats = {"lns_steps": found.stats.steps, "lns_improvements": found.stats.improvements,
             "tabu_iterations": found.stats.tabu_iterations,
             "tabu_improvements": found.stats.tabu_improvements, "cpu_s": cpu}
    return _row(path, "fjsp", schedule, found.bound, found.status,
                makespan(greedy_schedule), round(wall, 2), stats)


def instance_name(path: Path) -> str:
    """``mk01``; Hurink's sets share file names, so theirs carry the set: ``rdata/la01``."""
    stem = path.stem.lower()
    return f"{path.parent.name}/{stem}" if path.parent.name in ("edata", "rdata", "vdata") else stem


def subset() -> list[Path]:
    """The files of SUBSET_NAMES, in FULL's order."""
    return [p for p in FULL if instance_name(p) in SUBSET_NAMES]


def _row(path: Path, engine: Engine, schedule: list[Scheduled], bound: int, status: str,
         greedy_span: int, wall_s: float, stats: dict[str, float]) -> dict[str, Any]:
    name = instance_name(path)
    span = makespan(schedule)
    bks = BKS.get(name)
    return {
        "instance": name, "engine": engine, "makespan": span, "bound": bound, "status": status,
        **stats,
        "bks": bks, "gap_pct": None if bks is None else 100.0 * (span - bks) / bks,
        "greedy_makespan": greedy_span, "wall_s": wall_s,
        "schedule": [{"job": s.job, "op": s.op, "machine": s.machine, "start": s.start,
                      "end": s.end} for s in schedule],
    }


def run(directory: Path = DEFAULT_DIR, *, time_limit_s: float = 30.0,
        json_out: Path | None = None, workers: int = 2, runs: int = 1,
        markdown: Path | None = RESULTS / "fjsp.md",
        engines: tuple[Engine, ...] = ("platform",),
        paths: list[Path] | None = None) -> list[dict[str, Any]]:
    """Solve every ``*.fjs`` of ``directory`` with each engine, ``runs`` times (wall-clock
    limits and two threads do not repeat, so one run is one sample); write JSON and the
    markdown section. The rows are the first run's, engine by engine, each with
    ``makespan_runs``: its makespan in every run."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    for engine in engines:
        if engine not in get_args(Engine):
            raise ValueError(f"engine must be one of {get_args(Engine)}, not {engine!r}")
    paths = sorted(directory.glob("*.fjs")) if paths is None else paths
    if "fjsp" in engines:
        warm_up()
    load_before = os.getloadavg()[0]
    samples: list[list[dict[str, Any]]] = []
    for i in range(runs):
        rows = []
        for engine in engines:
            for path in paths:
                rows.append(solve_instance(path, time_limit_s, workers, engine))
                if json_out is not None and i == 0:  # a run cut short keeps what it measured
                    _write_rows(json_out, rows, time_limit_s, workers,
                                (load_before + os.getloadavg()[0]) / 2, partial=True)
                print(f"run {i + 1}/{runs} {engine} {rows[-1]['instance']}: "
                      f"{rows[-1]['makespan']} (bks {rows[-1]['bks']}, "
                      f"greedy {rows[-1]['greedy_makespan']})", flush=True)
        samples.append(rows)
    rows = samples[0]
    for k, row in enumerate(rows):
        row["makespan_runs"] = [sample[k]["makespan"] for sample in samples]
    load = (load_before + os.getloadavg()[0]) / 2
    measured = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if json_out is not None:
        _write_rows(json_out, rows, time_limit_s, workers, load, measured=measured)
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(render(rows, time_limit_s, workers, load, measured=measured))
    return rows


def _write_rows(json_out: Path, rows: list[dict[str, Any]], time_limit_s: float, workers: int,
                load: float, *, measured: str | None = None, partial: bool = False) -> None:
    """The rows and their meta (``partial``: the run is still going, or was cut short)."""
    json_out.write_text(json.dumps(rows, indent=1) + "\n")
    meta = {"measured": measured or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "time_limit_s": time_limit_s, "workers": workers, "load": load,
            **({"partial": True} if partial else {})}
    _meta_path(json_out).write_text(json.dumps(meta, indent=1) + "\n")


def _mean_gap(rows: list[dict[str, Any]], run: int) -> float | None:
    gaps = [100.0 * (r["makespan_runs"][run] - r["bks"]) / r["bks"] for r in rows
            if r["bks"] is not None]
    return statistics.mean(gaps) if gaps else None


def _meta_path(json_path: Path) -> Path:
    return json_path.with_name(json_path.stem + ".meta.json")


LNS_TITLE = "### FJSP: the platform's solve with and without its LNS (a run of its own)"
SUBSET_TITLE = ("### FJSP beyond Brandimarte: a subset (Hurink rdata and vdata la01-la05, la21, "
                "la36, Dauzere-Peres & Paulli 01a-03a, 07a, 13a; 19 of the 150 instances of "
                "those sets)")


FULL_TITLE = ("### FJSP: the full Hurink rdata and vdata and Dauzere-Peres & Paulli sets "
              "(150 instances), engine `platform`")


def _set_of(name: str) -> str:
    return name.split("/")[0] if "/" in name else "dauzere"


SET_LABELS = {"rdata": "Hurink rdata", "vdata": "Hurink vdata",
              "dauzere": "Dauzere-Peres & Paulli"}


def render_full(rows: list[dict[str, Any]], meta: dict[str, Any], detail: str) -> str:
    """The full sets' run as a summary per set; its per-instance table is in ``detail``
    (a file of its own beside BENCHMARKS.md: 150 rows)."""
    pjs = pyjobshop_900s()
    lines = [
        FULL_TITLE, "",
        *([f"**Cut short: {len(rows)} of the {len(FULL)} instances measured** (in the order "
           "of the files; the rest not run)", ""] if meta.get("partial") else []),
        f"Measured {meta['measured']}: `bench/fjsp.py` (`run(FULL, engines=('platform',))`), "
        f"the engine the platform runs (as described above), {meta['time_limit_s']:g} s per "
        f"instance, {meta['workers']} workers, every schedule checked; machine load "
        f"{meta['load']:.1f} on {os.cpu_count()} cores (1-min load average, mean of start and "
        f"end). BKS as above (`bench/instances/bounds/fjsplib_bks.csv`); PyJobShop's CP-SAT "
        "runs (900 s, 8 workers) cover la01-la40, mt06, mt10 and mt20 of each Hurink set and "
        f"every Dauzere-Peres & Paulli instance. Per instance: `{detail}`.",
        "",
        "| set | instances | mean gap to BKS % | max gap % | at BKS | proven optimal "
        "| PyJobShop compared | mean vs PyJobShop % | lower / equal / higher | mean wall s "
        "| mean CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_set: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_set.setdefault(_set_of(r["instance"]), []).append(r)
    for key in [*SET_LABELS, *sorted(set(by_set) - set(SET_LABELS))]:
        rs = by_set.get(key)
        if not rs:
            continue
        gaps = [r["gap_pct"] for r in rs if r["gap_pct"] is not None]
        versus = [(r["makespan"], pjs[r["instance"]][1]) for r in rs if r["instance"] in pjs]
        ref = [100.0 * (m - t) / t for m, t in versus]
        cpus = [r["cpu_s"] for r in rs if r.get("cpu_s") is not None]
        lines.append(
            f"| {SET_LABELS.get(key, key)} | {len(rs)} "
            f"| {statistics.mean(gaps):.2f} | {max(gaps):.2f} "
            f"| {sum(1 for r in rs if r['bks'] is not None and r['makespan'] <= r['bks'])} "
            f"| {sum(1 for r in rs if r['status'] == 'OPTIMAL')} | {len(versus)} "
            + (f"| {statistics.mean(ref):+.2f} | {sum(1 for m, t in versus if m < t)} / "
               f"{sum(1 for m, t in versus if m == t)} / {sum(1 for m, t in versus if m > t)} "
               if versus else "| - | - ")
            + f"| {statistics.mean(r['wall_s'] for r in rs):.1f} "
            f"| {statistics.mean(cpus) if cpus else float('nan'):.1f} |")
    gaps = [r["gap_pct"] for r in rows if r["gap_pct"] is not None]
    worst = sorted(rows, key=lambda r: -(r["gap_pct"] or 0.0))[:5]
    lines += ["", f"All {len(rows)}: mean gap to BKS **{statistics.mean(gaps):.2f} %**; the "
              "largest: " + ", ".join(f"{r['instance']} {r['gap_pct']:.2f} %" for r in worst)
              + f". It beats its greedy on "
              f"{sum(1 for r in rows if r['makespan'] < r['greedy_makespan'])} of {len(rows)}."]
    return "\n".join(lines) + "\n"


def render_stored(json_path: Path = RESULTS / "fjsp.json",
                  markdown: Path = RESULTS / "fjsp.md",
                  lns_json: Path | None = None,
                  subset_json: Path | None = RESULTS / "fjsp_subset.json",
                  full_json: Path | None = RESULTS / "fjsp_full.json") -> str:
    """Re-render the section from stored runs (rows + meta), keeping their measurement dates;
    the LNS run, the subset run and the full sets' run, when stored, follow as sub-sections
    (the full sets' per-instance table in a file of its own beside ``markdown``)."""
    parts = []
    for path, title in ((json_path, None), (lns_json, LNS_TITLE),
                        (subset_json, SUBSET_TITLE)):
        if path is None or not path.exists():
            continue
        rows = json.loads(path.read_text())
        meta = json.loads(_meta_path(path).read_text())
        parts.append(render(rows, meta["time_limit_s"], meta["workers"], meta["load"],
                            measured=meta["measured"], title=title))
    if full_json is not None and full_json.exists():
        rows = json.loads(full_json.read_text())
        meta = json.loads(_meta_path(full_json).read_text())
        detail = markdown.with_name(full_json.stem + ".md")
        detail.write_text(render(rows, meta["time_limit_s"], meta["workers"], meta["load"],
                                 measured=meta["measured"], title=FULL_TITLE))
        parts.append(render_full(rows, meta, f"bench/results/{detail.name}"))
    parts += _same_code_spread([p for p in (json_path, lns_json, subset_json)
                                if p is not None and p.exists()])
    text = "\n".join(parts)
    markdown.write_text(text)
    return text


def _same_code_spread(paths: list[Path]) -> list[str]:
    """A paragraph on the `platform` makespans that differ between stored runs of the same
    instances (same code, another time): how much of a difference the load alone makes."""
    seen: dict[str, list[int]] = {}
    for path in paths:
        for r in json.loads(path.read_text()):
            if r.get("engine") == "platform":
                seen.setdefault(r["instance"], []).append(r["makespan"])
    differ = [f"{name} {min(v)}-{max(v)}" for name, v in seen.items()
              if len(v) > 1 and min(v) != max(v)]
    if not differ:
        return []
    return ["Same code, two runs: engine `platform` measured in both Brandimarte runs above "
            "gave different makespans on " + ", ".join(differ) + " (the wall-clock limit buys "
            "less search when the machine is loaded); read differences of that size between "
            "engines as noise.\n"]


_ABOUT: dict[str, str] = {
    "platform": (
        "**Engine `platform`: the engine the platform runs.** `bench/fjsp_market.py` turns the "
        "instance into a market: each job an order of one piece, its operations a chain of "
        "steps, each machine a resource of one factory (no transport) with the step's own "
        "cycle time on it (`minutes_per_piece_on`, `only_on`: the scenario-format extension of "
        "docs/formats.md), objective `makespan_per_hour` 1, cost and tardiness 0, which the "
        "engine's objective expresses exactly (the largest completion). Solved by "
        "`matching.engine.solve`, the batch solve's path, with its defaults but the time limit "
        "(greedy hints the CP-SAT lot model of `matching/cpsat_model.py` on at most 12 "
        "candidates per step; a job of one piece is one lot, so its step is one fixed-size "
        "interval per candidate, and since greedy places every job placement is a constant and "
        "a load cut per machine bounds the makespan; then, the budget being >= 2 s, the tabu "
        "walk of `matching/walk.py` over resource assignment and sequence for 40 % of what is "
        "left, and CP-SAT again hinted with the walk's plan for the rest, "
        "`SolveOptions.walk_share`); every plan passes the independent checker "
        "(`tests/matching/plan_checker.py`) and the schedule check of `bench/fjsp.py`. Bound = "
        "that model's CP-SAT objective bound, floored by the longest job / average machine "
        "load. Greedy = `solve(policy=\"greedy\")` on the same market."),
    "platform-lns": (
        "**Engine `platform-lns`: the platform's solve with its opt-in large neighbourhood "
        "search** (`SolveOptions(improve_share=0.5)`, `matching/improve.py`): the same path as "
        "`platform`, the CP-SAT lot model for half the time, then re-solves of <= 0.5 s with "
        "about a tenth of the (order, step) lots freed (at random, or a run of lots adjacent "
        "in start time, in turn; the share adapts), every other lot keeping its resource, "
        "size and order on its resource. Not the engine's default (the platform runs "
        "`platform`)."),
    "fjsp": (
        "**Engine `fjsp`: the FJSP-only search** in `matching/fjsp/` (a subpackage beside the "
        "matcher: no quote, batch solve or repair calls it). Best of 41 dispatch schedules, "
        "the full FJSP CP-SAT model hinted with it for 20 % of the time (its bound is the "
        "bound column, floored by the longest job / average machine load), then a tabu search "
        "(`matching/fjsp/tabu.py`, Numba, one thread: critical-path moves after Mastrolilli & "
        "Gambardella 2000) and CP-SAT large neighbourhood search (`matching/fjsp/lns.py`: "
        "re-solve <= 0.5 s with a few operations freed) side by side on one shared incumbent, "
        "with a full-model restart when both stall for 25 % of the time. Greedy = the "
        "earliest-finish list schedule of `matching.greedy` on the FJSP problem."),
}


def _engine_lines(rows: list[dict[str, Any]], engine: str, *, about: bool = True) -> list[str]:
    searches = engine == "fjsp"  # only the FJSP-only search counts its LNS and tabu steps
    head = ("| instance | makespan | bound | BKS | gap % | PyJobShop CP-SAT 900 s | greedy "
            "| engine / greedy | wall s | CPU s |")
    pjs = pyjobshop_900s()
    lines = [_ABOUT.get(engine, f"**Engine `{engine}`.**") if about
             else f"**Engine `{engine}`** (as described above).", "",
             head + (" LNS steps (gains) | tabu iterations (gains) |" if searches else ""),
             "|---" * (12 if searches else 10) + "|"]
    for r in rows:
        gap = "-" if r["gap_pct"] is None else f"{r['gap_pct']:.2f}"
        ref = pjs.get(r["instance"])
        ref_text = "-" if ref is None else f"{ref[1]:g} ({ref[0].lower()}, bound {ref[2]:g})"
        cpu = r.get("cpu_s")
        line = (f"| {r['instance']} | {r['makespan']} | {r['bound']} | {r['bks']} | {gap} "
                f"| {ref_text} | {r['greedy_makespan']} "
                f"| {r['makespan'] / r['greedy_makespan']:.3f} "
                f"| {r['wall_s']:.1f} | {'-' if cpu is None else f'{cpu:.1f}'} |")
        if searches:
            line += (f" {r.get('lns_steps', 0)} ({r.get('lns_improvements', 0)}) "
                     f"| {r.get('tabu_iterations', 0):,} ({r.get('tabu_improvements', 0)}) |")
        lines.append(line)
    gaps = [r["gap_pct"] for r in rows if r["gap_pct"] is not None]
    ahead = sum(1 for r in rows if r["makespan"] < r["greedy_makespan"])
    if gaps:
        lines += ["", f"Engine `{engine}`: mean gap to BKS **{statistics.mean(gaps):.2f} %** "
                  f"over {len(gaps)} instances; max {max(gaps):.2f} %. It beats its greedy on "
                  f"{ahead} of {len(rows)} instances."]
    versus = [(r["makespan"], pjs[r["instance"]][1]) for r in rows if r["instance"] in pjs]
    if versus:
        ref_gaps = [100.0 * (m - ref) / ref for m, ref in versus]
        lines += ["", f"Against PyJobShop's CP-SAT (900 s, 8 workers) on the same "
                  f"{len(versus)} instances: mean (makespan - theirs) / theirs "
                  f"{statistics.mean(ref_gaps):+.2f} %; lower on "
                  f"{sum(1 for m, ref in versus if m < ref)}, equal on "
                  f"{sum(1 for m, ref in versus if m == ref)}."]
    cpus = [r["cpu_s"] for r in rows if r.get("cpu_s") is not None]
    if cpus:
        lines += ["", f"CPU time (process, all threads) per instance: mean "
                  f"{statistics.mean(cpus):.1f} s of {2 * max(r['wall_s'] for r in rows):.0f} "
                  "core-seconds at most on 2 cores: the rest went to other work on the "
                  "machine."]
    n_runs = min((len(r.get("makespan_runs", [])) for r in rows), default=0)
    if n_runs > 1:
        per_run = [g for g in (_mean_gap(rows, i) for i in range(n_runs)) if g is not None]
        spread = [f"{r['instance']} {min(r['makespan_runs'])}-{max(r['makespan_runs'])}"
                  for r in rows if min(r["makespan_runs"]) != max(r["makespan_runs"])]
        gaps_text = ("mean gap per run " + ", ".join(f"{g:.2f} %" for g in per_run)
                     + f" (mean {statistics.mean(per_run):.2f} %, worst {max(per_run):.2f} %); "
                     if per_run else "")
        lines += ["", f"Run to run ({n_runs} runs of the whole set, same code, same machine, one "
                  "after another; the table is run 1): " + gaps_text
                  + ("makespans that differed: " + ", ".join(spread) if spread
                     else "every makespan was the same in every run") + "."]
    return lines


def _comparison(by_engine: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Engines against each other, instance by instance (in the same run)."""
    lines = []
    for a, b, label, note in (
            ("platform", "fjsp", "platform / FJSP-only",
             " The platform's figure is the one users get."),
            ("platform-lns", "platform", "platform-lns / platform", "")):
        first = {r["instance"]: r for r in by_engine.get(a, [])}
        second = {r["instance"]: r for r in by_engine.get(b, [])}
        both = sorted(set(first) & set(second))
        if not both:
            continue
        ratios = [first[n]["makespan"] / second[n]["makespan"] for n in both]
        equal = sum(1 for n in both if first[n]["makespan"] == second[n]["makespan"])
        lower = sum(1 for n in both if first[n]["makespan"] < second[n]["makespan"])
        lines += ["", f"`{a}` against `{b}`, same run: makespan ratio {label} mean "
                  f"{statistics.mean(ratios):.3f}, worst {max(ratios):.3f}; lower on {lower}, "
                  f"equal on {equal} of {len(both)} instances.{note}"]
    return lines


def render(rows: list[dict[str, Any]], time_limit_s: float, workers: int,
           load: float | None = None, *, measured: str | None = None,
           title: str | None = None) -> str:
    """The BENCHMARKS.md section; ``measured`` is the run's date (default: now). Rows without
    an ``engine`` (stored before the platform engine was measured) are the FJSP-only search's."""
    measured = measured or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    by_engine: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_engine.setdefault(r.get("engine", "fjsp"), []).append(r)
    names = ", ".join(f"`{e}`" for e in by_engine)
    lines = [
        title or "## FJSP: Brandimarte mk01-mk10 (makespan)",
        "",
        f"Measured {measured}: `bench/fjsp.py` (as `sharefab bench fjsp --engine E` per "
        f"engine), engines {names} one after the other in one run, {time_limit_s:g} s per "
        f"instance, {workers} workers. BKS = best known upper bound from ScheduleOpt FJSPLib "
        "`bks.json` (source in `bench/instances/README.md`); gap = (makespan - BKS) / BKS. "
        "Each engine's greedy baseline is measured in the same run.",
    ]
    for engine, engine_rows in by_engine.items():
        lines += ["", *_engine_lines(engine_rows, engine, about=title is None
                                     or engine not in ("platform", "fjsp"))]
    lines += _comparison(by_engine)
    if load is not None:
        lines += ["", f"Machine load (1-min load average, mean of start and end of the run): "
                  f"{load:.1f} on {os.cpu_count()} cores; anything above 2 is other work sharing "
                  "the CPU (other engineers' builds and tests ran on this machine at the same "
                  "time), so wall-clock-limited figures here are below what a quiet machine "
                  "gives."]
    if title is None:
        lines += ["", "For scale: PyJobShop's published CP-SAT 9.11 runs (8 workers, 900 s per "
                  "instance; PyJobShop/Experiments `data/results.csv`, commit 754bb11) give "
                  "mk06 58 and mk10 205, a mean gap of 0.80 % on mk01-mk10."]
    return "\n".join(lines) + "\n"


def main() -> None:
    """`make bench`: platform and FJSP-only on Brandimarte in one run, then on the subset in
    another, then the platform on the full Hurink rdata/vdata and Dauzere-Peres sets (about an
    hour); one section from all three. (The opt-in LNS, engine `platform-lns`, is no longer run
    by default: the walk replaced it; `sharefab bench fjsp --engine platform-lns` still runs
    it, and ``render_stored(lns_json=...)`` renders such a run.)"""
    run(DEFAULT_DIR, time_limit_s=30.0, json_out=RESULTS / "fjsp.json", engines=ENGINES,
        markdown=None)
    run(DEFAULT_DIR, time_limit_s=30.0, json_out=RESULTS / "fjsp_subset.json",
        engines=ENGINES, markdown=None, paths=subset())
    run(DEFAULT_DIR, time_limit_s=30.0, json_out=RESULTS / "fjsp_full.json",
        engines=("platform",), markdown=None, paths=FULL)
    render_stored()


if __name__ == "__main__":
    main()
