"""Queue order and wait estimates: pure functions, no database.

Priority is counted in points: the customer's tier (private, vip …), an urgent hand-off (fraud, card
loss) and a transfer each add points, and every `ageing_seconds` of waiting adds one more. At any
moment the queue is served highest priority first, ties by arrival.

Because every entry ages at the same rate, that order never changes between two entries as time
passes, so it can be stored: an entry with `p` points that arrived at `t` ranks as if it had arrived
at `t - p × ageing_seconds` (`rank_at`). Sorting by (rank_at, queued_at, id) is sorting by priority
now, then arrival — and a database index serves the head of the queue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class PriorityRules:
    tier_points: Mapping[str, int]
    urgent_points: int
    transfer_points: int
    ageing_seconds: float


def points(rules: PriorityRules, *, tier: str | None, urgent: bool, transfer: bool = False) -> int:
    """The priority points an entry starts with."""
    total = rules.tier_points.get(tier or "", 0)
    if urgent:
        total += rules.urgent_points
    if transfer:
        total += rules.transfer_points
    return total


def rank_at(rules: PriorityRules, *, queued_at: datetime, points: int) -> datetime:
    """The virtual arrival time that orders the queue (earlier = served first)."""
    return queued_at - timedelta(seconds=points * rules.ageing_seconds)


def priority_now(rules: PriorityRules, *, points: int, queued_at: datetime, now: datetime) -> float:
    """The entry's priority at `now`: its points plus one per `ageing_seconds` waited."""
    waited = max(0.0, (now - queued_at).total_seconds())
    return points + waited / rules.ageing_seconds


def queue_order_key(*, rank: datetime, queued_at: datetime, entry_id: int) -> tuple[datetime, datetime, int]:
    return (rank, queued_at, entry_id)


@dataclass(frozen=True, slots=True)
class GroupLoad:
    """What a wait estimate of one group's queue needs."""

    answered_recently: int  # answers in the last `window_seconds`
    window_seconds: float
    free_slots: int  # chats the group's available agents can still take now
    staffed_slots: int  # total capacity of the group's available agents
    handle_seconds: float  # the average (or assumed) time an agent holds a chat


MIN_ANSWERS_FOR_RATE = 3


def estimate_wait_seconds(position: int, load: GroupLoad) -> int | None:
    """Expected seconds until the customer at `position` (1 = next) is answered; None if unknown.

    - a free slot for every customer ahead and this one: 0;
    - with a recent answer rate (at least 3 answers in the window): position / rate;
    - else from capacity: each of the staffed slots frees about once per handling time;
    - no agent available at all: unknown (None), the page says so instead of guessing.
    """
    if position < 1:
        raise ValueError("position starts at 1")
    if position <= load.free_slots:
        return 0
    if load.answered_recently >= MIN_ANSWERS_FOR_RATE and load.window_seconds > 0:
        rate = load.answered_recently / load.window_seconds
        return math.ceil((position - load.free_slots) / rate)
    if load.staffed_slots > 0:
        return math.ceil((position - load.free_slots) * load.handle_seconds / load.staffed_slots)
    return None
