"""Service-level arithmetic: answered in time / (answered + abandoned after the short-abandon threshold)."""

from __future__ import annotations

from lingxi.routing.service_level import EndedWait, compute


def waits(*items: tuple[str, float]) -> list[EndedWait]:
    return [EndedWait(outcome=o, wait_seconds=w, threshold_seconds=20) for o, w in items]  # type: ignore[arg-type]


def test_the_one_formula():
    level = compute(
        waits(
            ("answered", 5),
            ("answered", 20),  # exactly the threshold counts as in time
            ("answered", 21),
            ("answered", 90),
            ("abandoned", 3),  # short abandon (< 5 s): counted nowhere
            ("abandoned", 40),
            ("callback", 200),  # deflected: not in the service level
        ),
        short_abandon_seconds=5,
    )
    assert (level.offered, level.answered, level.answered_in_time) == (7, 4, 2)
    assert (level.abandoned, level.short_abandoned, level.callbacks) == (1, 1, 1)
    assert level.service_level == 2 / 5
    assert level.abandon_rate == 1 / 5
    assert level.average_answer_seconds == (5 + 20 + 21 + 90) / 4
    assert level.longest_answer_seconds == 90


def test_short_abandon_threshold_is_exclusive():
    level = compute(waits(("abandoned", 4.99), ("abandoned", 5.0)), short_abandon_seconds=5)
    assert (level.short_abandoned, level.abandoned) == (1, 1)
    assert level.service_level == 0.0


def test_each_wait_is_judged_by_its_groups_threshold():
    level = compute(
        [
            EndedWait(outcome="answered", wait_seconds=25, threshold_seconds=30),
            EndedWait(outcome="answered", wait_seconds=25, threshold_seconds=20),
        ],
        short_abandon_seconds=5,
    )
    assert level.answered_in_time == 1 and level.service_level == 0.5


def test_nothing_to_measure_is_none_not_100_percent():
    level = compute(waits(("abandoned", 1), ("callback", 30)), short_abandon_seconds=5)
    assert level.service_level is None and level.abandon_rate is None
    assert level.average_answer_seconds is None and level.longest_answer_seconds is None
    assert compute([], short_abandon_seconds=5).offered == 0
