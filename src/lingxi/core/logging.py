"""Logging set-up: every handler masks personal data in what it writes."""

from __future__ import annotations

import logging

from lingxi.core.masking import MaskingFilter


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    # uvicorn's loggers have handlers of their own (and do not propagate): mask there too, since its
    # access and WebSocket lines carry URLs with tokens.
    handlers = [*root.handlers]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        handlers.extend(logging.getLogger(name).handlers)
    for existing in handlers:
        if not any(isinstance(f, MaskingFilter) for f in existing.filters):
            existing.addFilter(MaskingFilter())
    root.setLevel(level)
