"""Periodic job: the SLA sweep. One indexed query per run finds the orders with something due
(warning, breach, next escalation level, auto-close); no per-order timers exist anywhere."""

from __future__ import annotations

import logging

from lingxi.core.db import transaction
from lingxi.core.jobs import periodic
from lingxi.settings import get_settings
from lingxi.tickets import service

log = logging.getLogger("lingxi.tickets.sla")


@periodic("tickets.sla_sweep", every_seconds=get_settings().ticket_sla_sweep_seconds)
async def sla_sweep() -> service.SweepResult:
    total = service.SweepResult()
    while True:  # several batches when many came due together (e.g. a holiday ended)
        async with transaction() as session:
            result = await service.do_sla_sweep(session=session)
        for name in total.__slots__:
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if result.processed < service.SWEEP_BATCH:
            break
    if total.processed:
        log.info("SLA sweep: %s", total)
    return total
