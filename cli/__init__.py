"""``sharefab`` console script. Command modules register on the apps of ``apps``."""

from __future__ import annotations

import importlib

from cli.apps import app

# One module per area; a module missing during development must not break the others.
_COMMAND_MODULES = ("serve_cmd", "match_cmd", "mqtt_cmd", "mqtt_acl_cmd", "simulate_cmd",
                    "admin_cmd", "webhooks_cmd")
for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"cli.{_name}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a module is absent
        if exc.name != f"cli.{_name}":
            raise


def main() -> None:
    app()
