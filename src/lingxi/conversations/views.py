"""HTTP routes of the conversations domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["conversations"])
