"""The work-order domain's clock: real UTC time, or a fixed moment in tests of the SLA clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from lingxi.core.timeutil import utcnow

_fixed: datetime | None = None


def now() -> datetime:
    return _fixed if _fixed is not None else utcnow()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Within the block the clock reads `at` (and whatever `advance` moves it to)."""
    global _fixed
    previous = _fixed
    _fixed = at
    try:
        yield
    finally:
        _fixed = previous


def advance(delta: timedelta) -> datetime:
    global _fixed
    if _fixed is None:
        raise RuntimeError("advance() only inside frozen()")
    _fixed = _fixed + delta
    return _fixed
