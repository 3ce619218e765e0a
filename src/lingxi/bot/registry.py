"""The bot's loaded parts: the intent taxonomy, the flows (validated once) and the intent model."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from lingxi.bot.actions import ACTIONS
from lingxi.bot.spec import FLOWS_DIR, Flow, load_flows
from lingxi.nlu import IntentModel, load_demo_model
from lingxi.settings import get_settings

_model_lock = threading.Lock()
_model: IntentModel | None = None


@lru_cache(maxsize=1)
def standard_intents() -> dict[str, dict[str, Any]]:
    """The intent taxonomy (a copy of shared/intents.yaml shipped with the package) by id."""
    data = yaml.safe_load(Path(__file__).with_name("intents.yaml").read_text(encoding="utf-8"))
    return {item["id"]: item for item in data["intents"]}


def intent_title(intent: str, language: str) -> str:
    info = standard_intents().get(intent)
    if info is None:
        return intent
    return str(info["en"] if language.startswith("en") else info["zh"])


@lru_cache(maxsize=1)
def get_flows() -> dict[str, Flow]:
    """Every flow by the intent that starts it; a broken flow file stops the start with its errors."""
    configured = get_settings().bot_flows_dir
    directory = Path(configured) if configured else FLOWS_DIR
    return load_flows(
        directory,
        intents=standard_intents(),
        actions={name: action.provides for name, action in ACTIONS.items()},
    )


def get_intent_model() -> IntentModel:
    """The configured intent model, loaded once per process."""
    global _model
    with _model_lock:
        if _model is None:
            configured = get_settings().nlu_model
            _model = load_demo_model() if configured == "demo" else IntentModel.load(configured)
        return _model
