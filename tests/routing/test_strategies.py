"""Agent selection: capacity first, sticky, then longest idle / least busy / round robin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lingxi.routing.strategies import Candidate, choose_agent

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def agent(
    agent_id: int,
    *,
    load: int = 0,
    capacity: int = 3,
    idle: float = 0,
    proficiency: int = 3,
    languages: tuple[str, ...] = ("zh-CN",),
    channel_load: int = 0,
    channel_capacity: int | None = None,
) -> Candidate:
    return Candidate(
        agent_id=agent_id,
        load=load,
        capacity=capacity,
        channel_load=channel_load,
        channel_capacity=channel_capacity,
        idle_since=T0 + timedelta(seconds=idle),
        proficiency=proficiency,
        languages=frozenset(languages),
    )


def pick(strategy, candidates, **kwargs):
    choice = choose_agent(strategy, candidates, language=kwargs.pop("language", "zh-CN"), **kwargs)
    return None if choice is None else (choice[0].agent_id, choice[1])


def test_longest_idle_then_proficiency_then_id():
    pool = [agent(1, idle=30), agent(2, idle=10), agent(3, idle=20)]
    assert pick("longest_idle", pool) == (2, "longest_idle")
    tied = [
        agent(1, idle=10, proficiency=3),
        agent(2, idle=10, proficiency=5),
        agent(3, idle=10, proficiency=5),
    ]
    assert pick("longest_idle", tied) == (2, "longest_idle")


def test_least_busy_is_the_share_of_capacity_in_use():
    pool = [agent(1, load=1, capacity=2), agent(2, load=2, capacity=5), agent(3, load=1, capacity=5, idle=50)]
    # shares: 0.5, 0.4, 0.2 → agent 3
    assert pick("least_busy", pool) == (3, "least_busy")
    # equal shares: longest idle first
    assert pick("least_busy", [agent(1, load=1, idle=40), agent(2, load=1, idle=20)]) == (2, "least_busy")


def test_round_robin_follows_the_cursor_and_wraps_around():
    pool = [agent(7), agent(3), agent(5)]
    assert pick("round_robin", pool, rr_cursor=None) == (3, "round_robin")
    assert pick("round_robin", pool, rr_cursor=3) == (5, "round_robin")
    assert pick("round_robin", pool, rr_cursor=5) == (7, "round_robin")
    assert pick("round_robin", pool, rr_cursor=7) == (3, "round_robin")
    # the one after the cursor is full: the next with room
    assert pick("round_robin", [agent(3), agent(5, load=3), agent(7)], rr_cursor=3) == (7, "round_robin")


def test_capacity_is_never_exceeded_whatever_the_strategy():
    full = [agent(1, load=3, capacity=3), agent(2, load=5, capacity=5)]
    for strategy in ("longest_idle", "least_busy", "round_robin"):
        assert pick(strategy, full) is None
        assert pick(strategy, full, preferred_agent_id=1) is None  # sticky does not override capacity


def test_channel_capacity_counts_inside_the_total():
    pool = [agent(1, load=1, channel_load=2, channel_capacity=2, idle=0), agent(2, load=2, idle=10)]
    assert pick("longest_idle", pool) == (2, "longest_idle")
    assert pick("longest_idle", [agent(1, load=1, channel_load=1, channel_capacity=2)]) == (1, "longest_idle")


def test_sticky_agent_first_when_free_else_the_strategy():
    pool = [agent(1, idle=0), agent(2, idle=50)]
    assert pick("longest_idle", pool, preferred_agent_id=2) == (2, "sticky")
    assert pick("longest_idle", [agent(1), agent(2, load=3)], preferred_agent_id=2) == (1, "longest_idle")
    assert pick("longest_idle", pool, preferred_agent_id=99) == (1, "longest_idle")


def test_language_and_exclusion():
    pool = [agent(1, idle=0), agent(2, idle=10, languages=("zh-CN", "en"))]
    assert pick("longest_idle", pool, language="en") == (2, "longest_idle")
    assert pick("longest_idle", pool, language="en-US") == (2, "longest_idle")  # same language, other region
    assert pick("longest_idle", pool, excluded_agent_id=1) == (2, "longest_idle")
    assert pick("longest_idle", [agent(1)], language="en") is None
