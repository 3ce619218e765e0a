"""Entry point for `lingxi worker`: the taskiq broker with every domain's tasks imported.

A worker process also ticks the periodic jobs (the Redis tick key lets one process enqueue each
tick) and delivers outbox events written by the jobs it runs.
"""

from __future__ import annotations

import importlib

from taskiq import TaskiqEvents, TaskiqState

from lingxi.core.events import get_dispatcher
from lingxi.core.jobs import PeriodicRunner, broker

JOB_MODULES: tuple[str, ...] = (
    "lingxi.handlers",
    "lingxi.bot.jobs",
    "lingxi.notifications.jobs",
    "lingxi.tickets.jobs",
)

for _module in JOB_MODULES:
    importlib.import_module(_module)

_runner = PeriodicRunner()


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _startup(state: TaskiqState) -> None:
    get_dispatcher().start()
    _runner.start()


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _shutdown(state: TaskiqState) -> None:
    await _runner.stop()
    await get_dispatcher().stop()


__all__ = ["broker"]
