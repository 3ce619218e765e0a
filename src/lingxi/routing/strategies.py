"""Which agent gets the next conversation of a group: pure functions over a snapshot of candidates.

The router loads the group's available agents (online, not in wrap-up, with the group's skill) with
their open chats, and asks `choose_agent` for one. Capacity is a filter before any strategy: an agent
at their total capacity, or at the capacity of the conversation's channel, is never chosen. The
database check when assigning (`conversations.service.do_assign`, under the agent's row lock) is the
guarantee; this filter only avoids choosing an agent that would be refused.

Strategies (per skill group):
- longest_idle: the agent idle the longest (`idle_since`: came online, last received a chat or
  finished a wrap-up), then higher proficiency, then lower id;
- least_busy: the lowest share of capacity in use, then longest idle;
- round_robin: agents in id order, the next after the one the group served last (wrapping around).
The customer's last agent (sticky) comes first when they are a candidate with room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Strategy = Literal["longest_idle", "least_busy", "round_robin"]
How = Literal["sticky", "longest_idle", "least_busy", "round_robin"]


@dataclass(frozen=True, slots=True)
class Candidate:
    agent_id: int
    load: int  # open (assigned) chats
    capacity: int  # max_concurrent_chats
    channel_load: int  # open chats on the conversation's channel
    channel_capacity: int | None  # None: no cap for that channel
    idle_since: datetime
    proficiency: int
    languages: frozenset[str]

    def has_room(self) -> bool:
        if self.load >= self.capacity:
            return False
        return self.channel_capacity is None or self.channel_load < self.channel_capacity

    def speaks(self, language: str) -> bool:
        base = language.split("-")[0]
        return language in self.languages or any(lang.split("-")[0] == base for lang in self.languages)


def eligible(
    candidates: Sequence[Candidate], *, language: str, excluded_agent_id: int | None = None
) -> list[Candidate]:
    return [c for c in candidates if c.has_room() and c.speaks(language) and c.agent_id != excluded_agent_id]


def choose_agent(
    strategy: Strategy,
    candidates: Sequence[Candidate],
    *,
    language: str,
    preferred_agent_id: int | None = None,
    excluded_agent_id: int | None = None,
    rr_cursor: int | None = None,
) -> tuple[Candidate, How] | None:
    pool = eligible(candidates, language=language, excluded_agent_id=excluded_agent_id)
    if not pool:
        return None
    if preferred_agent_id is not None:
        for candidate in pool:
            if candidate.agent_id == preferred_agent_id:
                return candidate, "sticky"
    if strategy == "longest_idle":
        return min(pool, key=lambda c: (c.idle_since, -c.proficiency, c.agent_id)), "longest_idle"
    if strategy == "least_busy":
        return (
            min(pool, key=lambda c: (c.load / c.capacity, c.idle_since, -c.proficiency, c.agent_id)),
            "least_busy",
        )
    if strategy == "round_robin":
        ordered = sorted(pool, key=lambda c: c.agent_id)
        after = [c for c in ordered if rr_cursor is None or c.agent_id > rr_cursor]
        return (after[0] if after else ordered[0]), "round_robin"
    raise ValueError(f"unknown strategy {strategy!r}")
