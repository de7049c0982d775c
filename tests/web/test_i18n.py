"""The message catalogues: both languages hold the same keys, and every key a page or script
uses exists (no browser needed: a static walk over services/web).

Keys used: ``data-i18n``, ``data-i18n-placeholder`` and ``data-i18n-title`` attributes in the
pages, and every ``sharefab.t("...")`` / ``t("...")`` string literal in pages and scripts.
Keys built at run time (``"common.status." + status``) are listed in ``DYNAMIC`` with the
values they take.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from services.web.views import PAGES, PAGES_DIR, STATIC_DIR, render_page

LOCALES = STATIC_DIR / "locales"
LANGS = ("zh-CN", "en")
_ATTR = re.compile(r'data-i18n(?:-placeholder|-title)?="([^"]+)"')
_CALL = re.compile(r'''\bt\(\s*["']([\w.\-]+)["']''')
# Keys assembled from a prefix and a value the API answers.
DYNAMIC = {
    "common.role.": ("park", "sme", "factory", "analyst", "platform"),
    "common.user_role.": ("admin", "member", "viewer"),
    "common.status.": ("running", "idle", "down", "offline", "unknown"),
    "park.order_status.": ("accepted", "in_production"),
    "analyst.policy.": ("greedy", "cpsat", "single"),
    "analyst.status.": ("queued", "running", "done", "failed"),
    "analyst.kpi.": ("on_time_rate", "fill_rate", "mean_lead_time_h", "p90_lead_time_h",
                     "mean_tardiness_h", "cost_per_order", "factories_per_order",
                     "utilization", "idle_capacity_used", "orders", "completed", "replans",
                     "outages"),
}


def _catalogue(lang: str, name: str) -> dict[str, str]:
    data = json.loads((LOCALES / lang / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _names() -> list[str]:
    return sorted({p.stem for lang in LANGS for p in (LOCALES / lang).glob("*.json")})


def _sources() -> list[Path]:
    # _role_page.html is the pages' shared frame: its keys are read through the rendered pages
    return sorted([*(p for p in PAGES_DIR.glob("*.html") if not p.name.startswith("_")),
                   *STATIC_DIR.glob("*.js")])


def used_keys() -> dict[str, set[str]]:
    """Every literal key, with the files that use it."""
    out: dict[str, set[str]] = {}
    for path in _sources():
        text = (render_page(path.stem) if path.suffix == ".html" and path.stem in PAGES
                else path.read_text(encoding="utf-8"))
        for key in {*_ATTR.findall(text), *_CALL.findall(text)}:
            out.setdefault(key, set()).add(path.name)
    return out


@pytest.mark.parametrize("name", _names())
def test_i18n__both_languages_have_the_same_keys(name: str) -> None:
    zh, en = (_catalogue(lang, name) for lang in LANGS)
    assert sorted(set(zh) - set(en)) == [], f"{name}: only in zh-CN"
    assert sorted(set(en) - set(zh)) == [], f"{name}: only in en"
    assert all(isinstance(v, str) and v.strip() for v in [*zh.values(), *en.values()])


@pytest.mark.parametrize("name", _names())
def test_i18n__keys_are_flat_and_named_after_their_catalogue(name: str) -> None:
    for key in _catalogue("en", name):
        assert key.startswith(f"{name}."), f"{name}.json: {key!r}"


def test_i18n__every_used_key_exists() -> None:
    known: set[str] = set()
    for name in _names():
        known |= set(_catalogue("en", name)) & set(_catalogue("zh-CN", name))
    used = used_keys()
    assert used, "no keys found: the patterns of this test no longer match the pages"
    prefixes = {k for k in used if k.endswith(".")}  # t("common.status." + status)
    assert sorted(prefixes - set(DYNAMIC)) == [], "a run-time key prefix not listed in DYNAMIC"
    missing = {k: sorted(files) for k, files in used.items()
               if k not in known and k not in prefixes}
    assert missing == {}
    dynamic = {prefix + v for prefix, values in DYNAMIC.items() for v in values}
    assert sorted(dynamic - known) == []


def test_i18n__placeholders_match_between_languages() -> None:
    """A {name} in one language's string is in the other's too (else a value goes missing)."""
    for name in _names():
        zh, en = (_catalogue(lang, name) for lang in LANGS)
        for key in zh.keys() & en.keys():
            assert set(re.findall(r"\{(\w+)\}", zh[key])) == set(
                re.findall(r"\{(\w+)\}", en[key])), f"{name}: {key}"
