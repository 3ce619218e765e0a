"""HTTP routes of the work-order domain: the staff console (/api/tickets) and customer self-service
(/api/my/tickets)."""

from __future__ import annotations

from fastapi import APIRouter

from lingxi.tickets import console, selfservice

router = APIRouter()
router.include_router(console.router)
router.include_router(selfservice.router)
