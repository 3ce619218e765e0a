"""Attach the server processes' logs to the report of a failing scale-out test."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed:
        cluster = getattr(item, "funcargs", {}).get("cluster")
        for server in getattr(cluster, "servers", ()):
            report.sections.append((f"server {server.name} log (last lines)", server.log_tail()))
    return report
