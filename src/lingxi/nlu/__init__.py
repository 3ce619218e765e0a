"""Lingxi NLU: intent models trained and served locally (a library with no database).

    from lingxi.nlu import IntentModel, TrainConfig, read_examples, load_demo_model

    model = IntentModel.train(read_examples("intents.csv"), config=TrainConfig(encoders=("tfidf",)))
    model.save("var/nlu/my-model")
    model = IntentModel.load("var/nlu/my-model")
    prediction = model.predict("我的卡丢了", k=3)
    # Prediction(intent, confidence, alternatives, out_of_scope)

See docs/nlu.md.
"""

from lingxi.nlu.corpus import DataError, Example, parse_examples, read_examples
from lingxi.nlu.demo import DEMO_DATA, DEMO_MODEL_DIR, load_demo_model, train_demo_model
from lingxi.nlu.encoders import EncoderUnavailable, available_encoders
from lingxi.nlu.evaluate import evaluate
from lingxi.nlu.model import IncompatibleModel, IntentModel, ModelError, Prediction, TrainConfig
from lingxi.nlu.text import normalize

__all__ = [
    "DEMO_DATA",
    "DEMO_MODEL_DIR",
    "DataError",
    "EncoderUnavailable",
    "Example",
    "IncompatibleModel",
    "IntentModel",
    "ModelError",
    "Prediction",
    "TrainConfig",
    "available_encoders",
    "evaluate",
    "load_demo_model",
    "normalize",
    "parse_examples",
    "read_examples",
    "train_demo_model",
]
