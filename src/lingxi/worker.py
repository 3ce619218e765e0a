"""Entry point for `lingxi worker`: the taskiq broker with every domain's tasks imported."""

from __future__ import annotations

import importlib

from lingxi.core.jobs import broker

JOB_MODULES: tuple[str, ...] = ("lingxi.handlers",)

for _module in JOB_MODULES:
    importlib.import_module(_module)

__all__ = ["broker"]
