"""The SLA clock: business calendars (working hours, holidays, make-up working days) and the deadlines
of a work order. Pure functions of their arguments — no database, no clock of their own.

Working time is counted in the calendar's time zone: a target of 240 working minutes started at
15:00 on a day that ends at 17:00 uses 120 minutes that day and is due at 10:00 on the next working
day when the day starts at 08:00. Deadlines are stored as UTC instants on the order; while the order
waits for the customer the clock is paused, and on resuming every deadline still ahead is moved by
exactly the working time that was left before it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lingxi.core.errors import ValidationFailed

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_LEVEL = 4
_SEARCH_DAYS = 3 * 366  # a calendar with no working time in three years is a configuration error

Window = tuple[time, time | None]  # None as the end = midnight (24:00)


def parse_window(raw: Sequence[str]) -> Window:
    """["08:00", "17:00"] -> (08:00, 17:00); an end of "24:00" means midnight."""
    try:
        start_s, end_s = raw
        start = time.fromisoformat(start_s)
        end = None if end_s == "24:00" else time.fromisoformat(end_s)
    except (TypeError, ValueError):
        raise ValidationFailed(
            f"Working hours are pairs like ['08:00', '17:00'], not {raw!r}.", code="bad_calendar"
        ) from None
    if end is not None and end <= start:
        raise ValidationFailed(f"Working hours {raw!r} end before they start.", code="bad_calendar")
    return start, end


def parse_windows(raw: Sequence[Sequence[str]] | None) -> tuple[Window, ...]:
    windows = sorted((parse_window(w) for w in raw or ()), key=lambda w: w[0])
    for (_, end), (start, _) in itertools.pairwise(windows):
        if end is None or end > start:
            raise ValidationFailed("Working hours of one day overlap.", code="bad_calendar")
    return tuple(windows)


@dataclass(frozen=True)
class Calendar:
    code: str
    zone: ZoneInfo
    week: Mapping[int, tuple[Window, ...]]  # weekday (0 = Monday) -> windows
    days: Mapping[date, tuple[Window, ...]] = field(default_factory=dict)  # exceptions; () = closed

    @classmethod
    def build(
        cls,
        *,
        code: str,
        timezone: str,
        week: Mapping[str, Sequence[Sequence[str]]],
        days: Mapping[date, Sequence[Sequence[str]]] | None = None,
    ) -> Calendar:
        unknown = set(week) - set(WEEKDAYS)
        if unknown:
            raise ValidationFailed(
                f"Unknown weekdays {sorted(unknown)}; use {WEEKDAYS}.", code="bad_calendar"
            )
        return cls(
            code=code,
            zone=ZoneInfo(timezone),
            week={i: parse_windows(week.get(name)) for i, name in enumerate(WEEKDAYS)},
            days={day: parse_windows(hours) for day, hours in (days or {}).items()},
        )

    def windows(self, day: date) -> tuple[Window, ...]:
        if day in self.days:
            return self.days[day]
        return self.week.get(day.weekday(), ())

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working spans as UTC instants."""
        spans = []
        for start, end in self.windows(day):
            begin = datetime.combine(day, start, tzinfo=self.zone)
            finish = (
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
                if end is None
                else datetime.combine(day, end, tzinfo=self.zone)
            )
            spans.append((begin.astimezone(UTC), finish.astimezone(UTC)))
        return spans

    def is_working(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return any(a <= moment < b for a, b in self._spans(local.date()))


def add_working_time(calendar: Calendar, start: datetime, amount: timedelta) -> datetime:
    """The instant at which `amount` of working time has passed since `start`."""
    if amount <= timedelta(0):
        return start
    remaining = amount
    day = start.astimezone(calendar.zone).date() - timedelta(days=1)  # a window may start the day before
    for _ in range(_SEARCH_DAYS):
        for begin, end in calendar._spans(day):
            if end <= start:
                continue
            begin = max(begin, start)
            available = end - begin
            if available >= remaining:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)
    raise ValidationFailed(f"Calendar {calendar.code} has no working time ahead.", code="bad_calendar")


def add_working_minutes(calendar: Calendar, start: datetime, minutes: float) -> datetime:
    return add_working_time(calendar, start, timedelta(minutes=minutes))


def working_time_between(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """Working time inside [start, end); zero when end is not after start."""
    total = timedelta(0)
    if end <= start:
        return total
    day = start.astimezone(calendar.zone).date() - timedelta(days=1)
    last = end.astimezone(calendar.zone).date()
    while day <= last:
        for begin, finish in calendar._spans(day):
            lo, hi = max(begin, start), min(finish, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


# --- the deadlines of one order ---------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyTargets:
    """What a policy asks for, in working minutes."""

    first_response_minutes: int
    resolution_minutes: int
    warn_ratio: float
    escalation_minutes: tuple[int, ...]  # after the due time, for levels 1..4

    @classmethod
    def of(cls, policy: Any) -> PolicyTargets:
        steps = tuple(int(m) for m in (policy.escalation_minutes or [0]))[:MAX_LEVEL]
        return cls(
            first_response_minutes=int(policy.first_response_minutes),
            resolution_minutes=int(policy.resolution_minutes),
            warn_ratio=float(policy.warn_ratio),
            escalation_minutes=steps or (0,),
        )


@dataclass(frozen=True)
class Deadlines:
    first_response_due_at: datetime
    warn_at: datetime
    due_at: datetime


def deadlines(calendar: Calendar, start: datetime, targets: PolicyTargets) -> Deadlines:
    ratio = min(max(targets.warn_ratio, 0.0), 1.0)
    return Deadlines(
        first_response_due_at=add_working_minutes(calendar, start, targets.first_response_minutes),
        warn_at=add_working_minutes(calendar, start, targets.resolution_minutes * ratio),
        due_at=add_working_minutes(calendar, start, targets.resolution_minutes),
    )


def escalation_time(
    calendar: Calendar, due_at: datetime, targets: PolicyTargets, level: int
) -> datetime | None:
    """When escalation `level` (1..4) fires, or None if the policy stops before it."""
    if level < 1 or level > len(targets.escalation_minutes):
        return None
    return add_working_minutes(calendar, due_at, targets.escalation_minutes[level - 1])


def shift_after_pause(
    calendar: Calendar, deadline: datetime | None, paused_at: datetime, now: datetime
) -> datetime | None:
    """A deadline still ahead when the clock paused keeps the working time it had left."""
    if deadline is None or deadline <= paused_at:
        return deadline
    return add_working_time(calendar, now, working_time_between(calendar, paused_at, deadline))


def default_calendar(timezone: str) -> Calendar:
    """Used when no calendar is configured: Monday to Friday, 08:00–17:00, no holidays."""
    weekday = [["08:00", "17:00"]]
    return Calendar.build(
        code="default",
        timezone=timezone,
        week={day: weekday for day in WEEKDAYS[:5]},
    )


def week_json(calendar_week: Mapping[str, Any]) -> dict[str, list[list[str]]]:
    """Validate a week given as JSON (used by the configuration API) and return it normalised."""
    Calendar.build(code="check", timezone="UTC", week=calendar_week)
    return {day: [list(w) for w in calendar_week.get(day) or []] for day in WEEKDAYS}
