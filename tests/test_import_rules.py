"""The house's import rules: the data flow runs one way, and this test fails when an arrow
points back up.

    domain <- scheduling <- matching <- services <- cli
    connectors, simulations: never services or cli
    services.core: no other part of services; a noun package: never workers, api or cli,
    and its models and service never flows (its views may run one)

An AST walk over every ``.py`` file of the checkout (function-level and ``TYPE_CHECKING``
imports count too: a lazy import is still an arrow). Relative imports are resolved against
the importing module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = frozenset({"domain", "scheduling", "matching", "services", "connectors", "simulations",
                  "bench", "cli", "tests", "examples"})
# The rooms of services that are not noun packages; every other package under services/ is a
# noun (parks, factories, ..., and whatever is added next: it gets the nouns' rules at once).
ROOMS = frozenset({"core", "live", "workers", "api", "flows", "migrations"})
NOUNS = frozenset(p.parent.name for p in (ROOT / "services").glob("*/__init__.py")
                  if p.parent.name not in ROOMS)
SKIP_DIRS = frozenset({".venv", ".git", "node_modules", "build", "dist", "__pycache__"})


@dataclass(frozen=True)
class Rule:
    """Modules under ``where`` may import of ours only ``allowed`` (None: anything) minus
    ``forbidden``; both are module-name prefixes."""

    where: str
    allowed: frozenset[str] | None
    forbidden: frozenset[str] = frozenset()
    why: str = ""

    def applies(self, module: str) -> bool:
        return _under(module, self.where)

    def breaks(self, target: str) -> bool:
        if any(_under(target, f) for f in self.forbidden):
            return True
        if self.allowed is None or _under(target, self.where):
            return False
        return not any(_under(target, a) for a in self.allowed)


RULES: tuple[Rule, ...] = (
    Rule("domain", frozenset(), why="domain is plain data: it imports nothing of ours"),
    Rule("scheduling", frozenset({"domain"}), why="scheduling builds on domain only"),
    Rule("matching", frozenset({"domain", "scheduling"}),
         why="the solver knows domain and scheduling, never the platform"),
    Rule("connectors", None, frozenset({"services", "cli"}),
         why="gateways and the MQTT contract never import the platform"),
    Rule("simulations", None, frozenset({"services", "cli"}),
         why="simulations call flows through their own seams, not services"),
    Rule("services", None, frozenset({"cli"}), why="the CLI sits on top of services"),
    Rule("services.core", None,
         frozenset({f"services.{p}" for p in (*NOUNS, "api", "workers", "flows", "live")}),
         why="core (settings, database, errors) is below every other room of services"),
    *(Rule(f"services.{noun}", None, frozenset({"services.workers", "services.api", "cli"}),
           why="a noun package is called by workers and the app shell, never the other way")
      for noun in sorted(NOUNS)),
    # A view may run a flow (that is what flows are for); a noun's models and service may not.
    *(Rule(f"services.{noun}.{part}", None, frozenset({"services.flows"}),
           why="flows are built from the nouns' services, not the other way round")
      for noun in sorted(NOUNS) for part in ("models", "service")),
)


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if not SKIP_DIRS.intersection(path.relative_to(root).parts):
            yield path


def imports_of(root: Path, path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``."""
    module = module_name(root, path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            yield node.lineno, target
            # `from services import cli` names a module too.
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def violations(root: Path) -> list[str]:
    """Every import in ``root`` that breaks a rule, as ``file:line: a -> b (why)``."""
    found: dict[tuple[str, int], str] = {}  # one report per import statement
    for path in python_files(root):
        module = module_name(root, path)
        rules = [r for r in RULES if r.applies(module)]
        if not rules:
            continue
        for line, target in imports_of(root, path):
            if target.split(".")[0] not in OURS:
                continue
            broken = next((r for r in rules if r.breaks(target)), None)
            where = (str(path.relative_to(root)), line)
            if broken is not None and where not in found:
                found[where] = f"{where[0]}:{line}: {module} -> {target} ({broken.why})"
    return [found[k] for k in sorted(found)]


def test_import_rules__the_checkout_keeps_them():
    assert violations(ROOT) == []


def test_import_rules__noun_packages_are_found():
    assert {"parks", "factories", "resources", "orders", "quotes", "bookings", "scenario",
            "catalog"} <= NOUNS


def test_import_rules__every_package_is_walked():
    modules = {module_name(ROOT, p).split(".")[0] for p in python_files(ROOT)}
    assert {"domain", "scheduling", "matching", "services", "connectors",
            "simulations", "cli"} <= modules


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in path.relative_to(root).parents:
        init = root / parent / "__init__.py"
        if parent != Path(".") and not init.exists():
            init.write_text("")
    path.write_text(text)


@pytest.mark.parametrize(("rel", "text", "arrow"), [
    ("domain/bad.py", "import matching.engine\n", "domain.bad -> matching.engine"),
    ("scheduling/bad.py", "from services.core import db\n", "scheduling.bad -> services.core"),
    ("matching/bad.py", "from connectors.topics import Kind\n",
     "matching.bad -> connectors.topics"),
    ("connectors/bad.py", "def f():\n    from services.orders import service\n",
     "connectors.bad -> services.orders"),
    ("simulations/bad.py", "from cli import main\n", "simulations.bad -> cli"),
    ("services/core/bad.py", "from ..orders.models import Order\n",
     "services.core.bad -> services.orders.models"),
    ("services/quotes/bad.py", "from services import workers\n",
     "services.quotes.bad -> services.workers"),
    ("services/orders/bad.py", "from services.api.app import create_app\n",
     "services.orders.bad -> services.api.app"),
    ("services/quotes/service.py", "from services.flows import pricing\n",
     "services.quotes.service -> services.flows"),
])
def test_import_rules__a_violating_file_is_caught(tmp_path, rel, text, arrow):
    _write(tmp_path, rel, text)
    found = violations(tmp_path)
    assert len(found) >= 1
    assert any(arrow in v for v in found), found


@pytest.mark.parametrize(("rel", "text"), [
    ("scheduling/ok.py", "from domain.model import Window\nimport datetime\n"),
    ("matching/ok.py", "from scheduling import intervals\nfrom . import sibling\n"),
    ("services/flows/ok.py", "from services.quotes import service\n"),
    ("services/quotes/views.py", "from services.flows import pricing\n"),
    ("services/orders/ok.py", "from services.core.db import DbSession\n"),
    ("cli/ok.py", "from services.api.app import create_app\n"),
])
def test_import_rules__an_allowed_arrow_passes(tmp_path, rel, text):
    _write(tmp_path, rel, text)
    assert violations(tmp_path) == []
