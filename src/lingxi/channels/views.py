"""HTTP routes of the channels: web/app chat, WeChat Official Account, signed webhooks."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

from lingxi.channels import webchat

router = APIRouter()
router.include_router(webchat.router)

# Channel adapters with routes of their own, included when present.
for _name in ("lingxi.channels.wechat.views", "lingxi.channels.webhook"):
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:
            raise
        continue
    router.include_router(_module.router)
