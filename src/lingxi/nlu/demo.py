"""The demo intent model shipped with Lingxi: trained from data/demo_intents.csv into models/demo/."""

from __future__ import annotations

import threading
from pathlib import Path

from lingxi.nlu.corpus import read_examples
from lingxi.nlu.model import IntentModel, ModelError, TrainConfig

_HERE = Path(__file__).resolve().parent
DEMO_DATA = _HERE / "data" / "demo_intents.csv"
DEMO_MODEL_DIR = _HERE / "models" / "demo"
# The demo model uses the default, dependency-free encoder so that every install can load it.
DEMO_CONFIG = TrainConfig(encoders=("tfidf",))

_lock = threading.Lock()
_cached: IntentModel | None = None


def load_demo_model() -> IntentModel:
    """The shipped demo model (loaded once per process)."""
    global _cached
    with _lock:
        if _cached is None:
            if not (DEMO_MODEL_DIR / "manifest.json").is_file():
                raise ModelError(
                    f"the demo NLU model is not built ({DEMO_MODEL_DIR}); build it with `make nlu-demo`"
                )
            _cached = IntentModel.load(DEMO_MODEL_DIR)
        return _cached


def train_demo_model(out: Path | None = None) -> IntentModel:
    """Retrain the demo model from the shipped examples and save it (default: models/demo/)."""
    model = IntentModel.train(read_examples(DEMO_DATA), config=DEMO_CONFIG)
    model.save(out or DEMO_MODEL_DIR)
    return model
