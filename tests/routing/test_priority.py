"""Queue order: VIP tiers and urgent hand-offs first, priority rising with the wait, then arrival."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lingxi.routing.priority import (
    GroupLoad,
    PriorityRules,
    estimate_wait_seconds,
    points,
    priority_now,
    queue_order_key,
    rank_at,
)

RULES = PriorityRules(
    tier_points={"private": 40, "vip": 30, "gold": 5}, urgent_points=60, transfer_points=30, ageing_seconds=10
)
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def entry(name: str, *, at: float, tier: str | None = None, urgent: bool = False, entry_id: int = 0):
    queued = T0 + timedelta(seconds=at)
    p = points(RULES, tier=tier, urgent=urgent)
    return (
        name,
        queued,
        p,
        queue_order_key(rank=rank_at(RULES, queued_at=queued, points=p), queued_at=queued, entry_id=entry_id),
    )


def order(*entries) -> list[str]:
    return [name for name, _, _, key in sorted(entries, key=lambda e: e[3])]


def test_points_add_up():
    assert points(RULES, tier=None, urgent=False) == 0
    assert points(RULES, tier="standard", urgent=False) == 0  # unlisted tiers have none
    assert points(RULES, tier="vip", urgent=False) == 30
    assert points(RULES, tier="vip", urgent=True) == 90
    assert points(RULES, tier="gold", urgent=False, transfer=True) == 35


def test_vip_and_urgent_go_first_among_recent_arrivals():
    assert order(
        entry("standard-first", at=0, entry_id=1),
        entry("gold", at=5, tier="gold", entry_id=2),
        entry("vip", at=10, tier="vip", entry_id=3),
        entry("urgent", at=20, urgent=True, entry_id=4),
        entry("private", at=30, tier="private", entry_id=5),
    ) == ["urgent", "private", "vip", "gold", "standard-first"]


def test_ageing_lets_a_long_wait_overtake_a_new_vip():
    # A VIP is worth 30 points = 300 s of waiting. A standard customer who has waited 301 s goes first,
    # one who has waited 299 s does not.
    assert order(
        entry("waited-301s", at=0, entry_id=1), entry("vip-now", at=301, tier="vip", entry_id=2)
    ) == [
        "waited-301s",
        "vip-now",
    ]
    assert order(
        entry("waited-299s", at=0, entry_id=1), entry("vip-now", at=299, tier="vip", entry_id=2)
    ) == [
        "vip-now",
        "waited-299s",
    ]


def test_equal_priority_goes_by_arrival_then_id():
    # Same rank: a VIP who arrived 300 s after a standard customer ties with them; the earlier arrival wins.
    assert order(entry("vip-later", at=300, tier="vip", entry_id=1), entry("standard", at=0, entry_id=2)) == [
        "standard",
        "vip-later",
    ]
    assert order(entry("b", at=0, entry_id=2), entry("a", at=0, entry_id=1)) == ["a", "b"]


def test_stored_rank_matches_the_priority_at_any_moment():
    """Sorting by rank_at once equals sorting by priority now, whenever 'now' is (ageing is linear)."""
    items = [
        entry(
            f"e{i}",
            at=i * 37 % 400,
            tier=("vip", None, "gold", "private")[i % 4],
            urgent=i % 7 == 0,
            entry_id=i,
        )
        for i in range(40)
    ]
    stored = order(*items)
    for later in (0, 60, 600, 6000):
        now = T0 + timedelta(seconds=400 + later)
        live = sorted(
            items, key=lambda e: (-priority_now(RULES, points=e[2], queued_at=e[1], now=now), e[1], e[3][2])
        )
        assert [e[0] for e in live] == stored


def test_priority_now_rises_one_point_per_ageing_step():
    assert priority_now(RULES, points=30, queued_at=T0, now=T0) == 30
    assert priority_now(RULES, points=30, queued_at=T0, now=T0 + timedelta(seconds=25)) == 32.5


LOAD = GroupLoad(answered_recently=0, window_seconds=1800, free_slots=0, staffed_slots=10, handle_seconds=300)


def test_wait_estimate_from_capacity_without_history():
    # 10 slots, each freeing about once per 300 s: one customer every 30 s.
    assert estimate_wait_seconds(1, LOAD) == 30
    assert estimate_wait_seconds(4, LOAD) == 120


def test_wait_estimate_from_the_recent_answer_rate():
    load = GroupLoad(
        answered_recently=60, window_seconds=1800, free_slots=0, staffed_slots=10, handle_seconds=300
    )
    assert estimate_wait_seconds(3, load) == 90  # one answer every 30 s


def test_wait_estimate_with_free_slots_and_without_agents():
    free = GroupLoad(
        answered_recently=0, window_seconds=1800, free_slots=2, staffed_slots=10, handle_seconds=300
    )
    assert estimate_wait_seconds(2, free) == 0
    assert estimate_wait_seconds(3, free) == 30
    nobody = GroupLoad(
        answered_recently=0, window_seconds=1800, free_slots=0, staffed_slots=0, handle_seconds=300
    )
    assert estimate_wait_seconds(1, nobody) is None
    with pytest.raises(ValueError):
        estimate_wait_seconds(0, LOAD)
