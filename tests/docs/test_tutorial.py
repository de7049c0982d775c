"""docs/tutorial.md, run: every fenced ``sh`` block, in order, in one bash, against a fresh
``sharefab serve --demo`` (SQLite in a temporary folder, embedded broker and demo gateways).

One shell, because the page reads as one terminal session (``ORDER``, ``QUOTE`` carry over);
``set -euo pipefail`` stops at the first failing command, and a marker after each block says
how far it got.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import serving
from tests.conftest import IN_CI

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
FENCE = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def sh_blocks(text: str) -> list[str]:
    """The bodies of the ```sh fences, in order (```console fences are not run)."""
    return [m.group(1) for m in FENCE.finditer(text)]


def test_sh_blocks__only_sh_fences_are_taken():
    text = "```console\n$ make run\n```\n```sh\necho one\n```\ntext\n```sh\necho two\n```\n"
    assert sh_blocks(text) == ["echo one\n", "echo two\n"]


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if IN_CI:
            pytest.fail(f"{tool} is not installed (CI=true: the tutorial test must run)")
        pytest.skip(f"{tool} is not installed; the tutorial needs it")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """``sharefab serve --demo`` on a free port; yields its base URL, stops it afterwards."""
    with serving.demo_server(tmp_path) as base:
        yield base


def _platform_token(path: Path) -> str:
    """The platform admin's key from the demo's token file (org kind role token lines)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1] == "platform":
            return parts[3]
    raise AssertionError(f"no platform key in {path}")


@pytest.mark.slow
def test_tutorial__every_sh_block_runs_and_the_order_is_done(demo_server, tmp_path):
    _need("bash")
    _need("curl")
    blocks = sh_blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) >= 6, "the tutorial lost its commands"
    script = "set -euo pipefail\n" + "".join(
        f"{body}\nprintf '\\n::block {i} ok\\n'\n" for i, body in enumerate(blocks, 1))
    work = tmp_path / "shell"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
    env["API"] = demo_server
    env["TOKEN"] = _platform_token(tmp_path / "var" / "demo-tokens.txt")
    auth = {"Authorization": f"Bearer {env['TOKEN']}"}
    result = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True,
                            text=True, timeout=600, check=False)
    passed = re.findall(r"^::block (\d+) ok$", result.stdout, re.MULTILINE)
    assert result.returncode == 0, (
        f"block {len(passed) + 1} of {len(blocks)} failed (exit {result.returncode}):\n"
        f"{blocks[len(passed)]}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n"
        f"{result.stderr[-3000:]}")
    assert passed == [str(i) for i in range(1, len(blocks) + 1)]
    # What the text promises: three alternatives, an accepted one, the order done.
    order = httpx.get(f"{demo_server}/orders/TUT-1", headers=auth, timeout=10).json()
    assert order["status"] == "done"
    quotes = httpx.get(f"{demo_server}/orders/TUT-1/quotes", headers=auth, timeout=10).json()
    assert sorted(q["kind"] for q in quotes) == ["balanced", "cheapest", "fastest"]
    assert [q["status"] for q in quotes].count("accepted") == 1
    bookings = httpx.get(f"{demo_server}/bookings", params={"order": "TUT-1"}, headers=auth,
                         timeout=10).json()
    assert bookings
    assert all(b["status"] == "done" for b in bookings)
