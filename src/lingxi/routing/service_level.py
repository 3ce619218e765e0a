"""Service level: one arithmetic, over the queue entries that ended in a period (pure functions).

For each ended wait of a conversation in a queue:
- answered: an agent took it; answered in time if it waited at most the group's threshold T
  (20, 25 or 30 s … per skill group);
- abandoned: the customer left the queue; a short abandon waited less than S seconds
  (`routing_short_abandon_seconds`) and counts nowhere: the customer left before anyone could answer;
- callback: the customer chose a call back or a message instead of waiting: deflected, not in the
  service level (counted on its own).

    service level  = answered in time / (answered + abandoned after S)
    abandon rate   = abandoned after S / (answered + abandoned after S)
    average speed of answer (ASA) = mean wait of the answered

With nothing answered and nothing abandoned, the service level is None (shown as "—", not 100 %).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["answered", "abandoned", "callback"]


@dataclass(frozen=True, slots=True)
class EndedWait:
    outcome: Outcome
    wait_seconds: float
    threshold_seconds: int  # the service-level threshold of the group it ended in


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    offered: int  # every ended wait
    answered: int
    answered_in_time: int
    abandoned: int  # after the short-abandon threshold
    short_abandoned: int
    callbacks: int
    service_level: float | None  # 0..1
    abandon_rate: float | None  # 0..1
    average_answer_seconds: float | None
    longest_answer_seconds: float | None


def compute(waits: Iterable[EndedWait], *, short_abandon_seconds: float) -> ServiceLevel:
    answered = in_time = abandoned = short = callbacks = offered = 0
    answer_total = 0.0
    longest: float | None = None
    for wait in waits:
        offered += 1
        if wait.outcome == "answered":
            answered += 1
            answer_total += wait.wait_seconds
            longest = wait.wait_seconds if longest is None else max(longest, wait.wait_seconds)
            if wait.wait_seconds <= wait.threshold_seconds:
                in_time += 1
        elif wait.outcome == "abandoned":
            if wait.wait_seconds < short_abandon_seconds:
                short += 1
            else:
                abandoned += 1
        else:
            callbacks += 1
    base = answered + abandoned
    return ServiceLevel(
        offered=offered,
        answered=answered,
        answered_in_time=in_time,
        abandoned=abandoned,
        short_abandoned=short,
        callbacks=callbacks,
        service_level=in_time / base if base else None,
        abandon_rate=abandoned / base if base else None,
        average_answer_seconds=answer_total / answered if answered else None,
        longest_answer_seconds=longest,
    )
