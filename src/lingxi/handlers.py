"""Importing this module registers every domain's event handlers with the outbox dispatcher."""

from __future__ import annotations

import importlib

HANDLER_MODULES: tuple[str, ...] = (
    "lingxi.channels.wechat.handlers",
    "lingxi.bot.handlers",
    "lingxi.notifications.handlers",
    "lingxi.tickets.handlers",
    "lingxi.routing.handlers",
)

for _module in HANDLER_MODULES:
    importlib.import_module(_module)
