"""Run every benchmark and rewrite BENCHMARKS.md with the machine and the date.

Each benchmark module writes its own markdown section to ``bench/results/<name>.md``; this
script runs them in order and stitches the sections under a header that says where and when
the numbers were measured, so figures from different machines never mix silently.

    python -m bench.run_all                 # everything (hours on 2 cores)
    python -m bench.run_all --only fjsp     # one benchmark, then re-render
    python -m bench.run_all --render-only   # re-render from the stored sections
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ORDER = ("fjsp", "quote", "multiorder", "ingest", "api", "stall", "sim", "load")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return "unknown"


def machine_facts() -> str:
    """One markdown list describing the machine the numbers came from."""
    return "\n".join([
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {_cpu_model()}, {os.cpu_count()} cores, {_memory_gib()} RAM",
        f"- system: {platform.system()} {platform.release()}, Python {platform.python_version()}",
    ])


def render() -> Path:
    sections = [RESULTS / f"{name}.md" for name in ORDER]
    extra = sorted(p for p in RESULTS.glob("*.md") if p.stem not in ORDER)
    body = [p.read_text().strip() for p in [*sections, *extra] if p.exists()]
    out = ROOT / "BENCHMARKS.md"
    out.write_text(
        "# ShareFab benchmarks\n\n"
        "Written by `make bench` (`python -m bench.run_all`). Every ratio compares against a "
        "baseline measured in the same run on the same machine. Each section states the date "
        "it was last measured; this header states when the file was rendered.\n\n"
        + machine_facts() + "\n\n" + "\n\n".join(body) + "\n"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=ORDER, help="run just these")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args(argv)
    failed: list[str] = []
    if not args.render_only:
        for name in args.only or ORDER:
            print(f"== bench {name}", flush=True)
            started = time.perf_counter()
            try:
                importlib.import_module(f"bench.{name}").main()
            except Exception as exc:  # one broken bench must not hide the others' numbers
                failed.append(name)
                print(f"!! bench {name} failed: {exc!r}", file=sys.stderr)
            print(f"== bench {name} took {time.perf_counter() - started:.0f} s", flush=True)
    print(f"wrote {render()}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
