"""The SLA clock as pure functions: working hours, holidays, make-up days, pauses, escalation times."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lingxi.core.errors import ValidationFailed
from lingxi.tickets.defaults import HOLIDAYS_EXAMPLE
from lingxi.tickets.sla import (
    Calendar,
    PolicyTargets,
    add_working_minutes,
    deadlines,
    escalation_time,
    shift_after_pause,
    working_time_between,
)
from tests.tickets.conftest import local

WEEKDAYS_8_TO_17 = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def office(**days: list[list[str]]) -> Calendar:
    return Calendar.build(
        code="t",
        timezone="Asia/Shanghai",
        week=WEEKDAYS_8_TO_17,
        days={date.fromisoformat(k.replace("_", "-")[1:]): v for k, v in days.items()},
    )


def test_the_vector_request_at_15_with_4_working_hours_is_due_at_10_next_working_day():
    calendar = office()
    assert add_working_minutes(calendar, local(2026, 11, 30, 15, 0), 240) == local(2026, 12, 1, 10, 0)


def test_friday_afternoon_runs_over_the_weekend():
    calendar = office()
    assert add_working_minutes(calendar, local(2026, 12, 4, 15, 0), 240) == local(2026, 12, 7, 10, 0)


def test_started_outside_hours_counts_from_the_next_opening():
    calendar = office()
    assert add_working_minutes(calendar, local(2026, 11, 30, 20, 30), 60) == local(2026, 12, 1, 9, 0)
    assert add_working_minutes(calendar, local(2026, 12, 5, 10, 0), 30) == local(
        2026, 12, 7, 8, 30
    )  # Saturday
    assert add_working_minutes(calendar, local(2026, 12, 1, 6, 0), 540) == local(2026, 12, 1, 17, 0)


def test_a_holiday_is_skipped_and_a_make_up_day_counts():
    holidays = office(d2026_12_01=[], d2026_12_02=[])
    assert add_working_minutes(holidays, local(2026, 11, 30, 15, 0), 240) == local(2026, 12, 3, 10, 0)
    makeup = office(d2026_12_05=[["08:00", "17:00"]])  # a Saturday worked (调休)
    assert add_working_minutes(makeup, local(2026, 12, 4, 15, 0), 240) == local(2026, 12, 5, 10, 0)


def test_the_example_spring_festival_make_up_saturday_is_a_working_day():
    calendar = Calendar.build(
        code="CN-HO",
        timezone="Asia/Shanghai",
        week=WEEKDAYS_8_TO_17,
        days={day: hours for day, _, hours in HOLIDAYS_EXAMPLE},
    )
    assert calendar.is_working(local(2027, 2, 20, 9, 0))  # Saturday, 调休上班
    assert not calendar.is_working(local(2027, 2, 9, 9, 0))  # Tuesday of the festival
    # Thursday 4 Feb 16:00 + 2 h: one hour that day, the festival closes 5–11 Feb (the weekend too).
    assert add_working_minutes(calendar, local(2027, 2, 4, 16, 0), 120) == local(2027, 2, 12, 9, 0)


def test_split_days_and_round_the_clock():
    lunch = Calendar.build(
        code="lunch", timezone="Asia/Shanghai", week={"mon": [["13:00", "17:00"], ["08:30", "12:00"]]}
    )
    assert add_working_minutes(lunch, local(2026, 11, 30, 11, 0), 90) == local(2026, 11, 30, 13, 30)
    always = Calendar.build(
        code="24x7",
        timezone="Asia/Shanghai",
        week={d: [["00:00", "24:00"]] for d in WEEKDAYS_8_TO_17 | {"sat": 0, "sun": 0}},
    )
    assert add_working_minutes(always, local(2026, 12, 5, 23, 0), 120) == local(2026, 12, 6, 1, 0)


def test_working_time_between_counts_only_open_hours():
    calendar = office()
    assert working_time_between(calendar, local(2026, 11, 30, 15, 0), local(2026, 12, 1, 10, 0)) == timedelta(
        hours=4
    )
    assert working_time_between(calendar, local(2026, 12, 4, 16, 0), local(2026, 12, 7, 9, 0)) == timedelta(
        hours=2
    )
    assert working_time_between(calendar, local(2026, 12, 1), local(2026, 11, 30)) == timedelta(0)


def test_a_pause_keeps_the_working_time_that_was_left():
    calendar = office()
    due = local(2026, 12, 1, 10, 0)
    # paused Monday 16:00 (3 working hours left: 16-17, 08-10), resumed Wednesday 14:00 -> Wednesday 17:00
    assert shift_after_pause(calendar, due, local(2026, 11, 30, 16, 0), local(2026, 12, 2, 14, 0)) == local(
        2026, 12, 2, 17, 0
    )
    # a deadline already passed when the clock paused stays where it was
    assert shift_after_pause(calendar, due, local(2026, 12, 1, 11, 0), local(2026, 12, 2, 9, 0)) == due
    assert shift_after_pause(calendar, None, due, due) is None


def test_deadlines_and_escalation_levels():
    calendar = office()
    targets = PolicyTargets(
        first_response_minutes=60,
        resolution_minutes=240,
        warn_ratio=0.75,
        escalation_minutes=(0, 120, 480, 960),
    )
    due = deadlines(calendar, local(2026, 11, 30, 15, 0), targets)
    assert due.first_response_due_at == local(2026, 11, 30, 16, 0)
    assert due.warn_at == local(2026, 12, 1, 9, 0)  # 180 working minutes
    assert due.due_at == local(2026, 12, 1, 10, 0)
    assert escalation_time(calendar, due.due_at, targets, 1) == local(2026, 12, 1, 10, 0)
    assert escalation_time(calendar, due.due_at, targets, 2) == local(2026, 12, 1, 12, 0)
    assert escalation_time(calendar, due.due_at, targets, 3) == local(2026, 12, 2, 9, 0)
    assert escalation_time(calendar, due.due_at, targets, 4) == local(2026, 12, 2, 17, 0)  # the day used up
    assert escalation_time(calendar, due.due_at, targets, 5) is None
    short = PolicyTargets(
        first_response_minutes=1, resolution_minutes=1, warn_ratio=1, escalation_minutes=(0, 30)
    )
    assert escalation_time(calendar, due.due_at, short, 3) is None


@pytest.mark.parametrize(
    "week",
    [
        {"mon": [["17:00", "08:00"]]},
        {"mon": [["8am", "5pm"]]},
        {"mon": [["08:00", "12:00"], ["11:00", "17:00"]]},
        {"funday": [["08:00", "17:00"]]},
    ],
)
def test_bad_calendars_are_refused(week):
    with pytest.raises(ValidationFailed):
        Calendar.build(code="bad", timezone="Asia/Shanghai", week=week)


def test_a_calendar_without_working_time_is_a_configuration_error():
    closed = Calendar.build(code="closed", timezone="Asia/Shanghai", week={})
    with pytest.raises(ValidationFailed):
        add_working_minutes(closed, local(2026, 11, 30), 60)
