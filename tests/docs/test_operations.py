"""docs/ stays true to the code it describes: every setting documented, every path it names
exists, and no help text or docstring points at the design sketch outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from services.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_operations__settings_table_lists_every_setting():
    text = (DOCS / "operations.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `SHAREFAB_([A-Z0-9_]+)` \|", text, re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from docs/operations.md"
    assert documented - fields == set(), "docs/operations.md documents settings that do not exist"


def test_docs__every_repository_path_they_name_exists():
    named: set[str] = set()
    for page in DOCS.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        named |= set(re.findall(r"`((?:docs|domain|scheduling|matching|connectors|services|"
                                r"simulations|cli|bench|tests|deploy|examples)/[\w./-]*)`", text))
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
    assert missing == []


def test_code__cites_docs_not_the_design_sketch():
    files = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.html", "*.yml", "*.conf"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    citing = [f for f in files
              if re.search(r"DESIGN(\.md)? ?\d|DESIGN\.md|\.\./shared",
                           (ROOT / f).read_text(encoding="utf-8"))
              and not f.startswith("tests/docs/")]
    assert citing == []
