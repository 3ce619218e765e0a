"""Periodic jobs: the in-process ticker (embedded mode) and the once-per-tick claim on Redis."""

from __future__ import annotations

import asyncio
import os

import pytest

from lingxi.core import jobs
from lingxi.core.jobs import PeriodicRunner, jobs_run_in_process, periodic


@pytest.fixture
def counting_job():
    runs: list[int] = []
    name = "test.counting"

    @periodic(name, every_seconds=0.1)
    async def count() -> int:
        runs.append(1)
        return len(runs)

    yield name, runs
    jobs._periodic.pop(name, None)


async def test_the_embedded_ticker_runs_due_jobs(counting_job):
    name, runs = counting_job
    runner = PeriodicRunner(use_redis=False)
    runner.start()
    try:
        for _ in range(100):
            if len(runs) >= 3:
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    assert len(runs) >= 3


async def test_runs_of_one_job_never_overlap(counting_job):
    name, runs = counting_job
    await asyncio.gather(*(jobs.run_periodic(name) for _ in range(5)))
    assert len(runs) == 5


def test_jobs_tick_in_the_api_process_only_in_the_embedded_mode(settings, monkeypatch):
    assert settings.env == "test" and not jobs_run_in_process()  # tests drive jobs themselves
    monkeypatch.setattr(settings, "jobs_in_process", True)
    assert jobs_run_in_process()


@pytest.mark.skipif(not os.environ.get("LINGXI_REDIS_URL"), reason="needs Redis (LINGXI_REDIS_URL)")
async def test_on_redis_each_tick_is_claimed_once(counting_job):
    name, _ = counting_job
    job = jobs.periodic_jobs()[name]
    job.every_seconds = 30.0  # one tick window for the whole test
    first, second = PeriodicRunner(use_redis=True), PeriodicRunner(use_redis=True)
    try:
        claims = [await first._claim_tick(job), await second._claim_tick(job)]
    finally:
        await first.stop()
        await second.stop()
    assert sorted(claims) == [False, True]
