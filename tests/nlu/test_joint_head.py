"""The ensemble's pretrained-encoder members, with stand-in encoders (runs without the nlu extras)."""

import hashlib

import numpy as np
import pytest

from lingxi.nlu import IntentModel, TrainConfig
from lingxi.nlu import encoders as enc
from lingxi.nlu.mlp import MLPClassifier, MLPEnsemble
from lingxi.nlu.model import _MlpHead
from tests.nlu.synthetic import synthetic_examples


class HashedBigramEncoder:
    """Deterministic stand-in for a sentence encoder: hashed character bigrams, L2-normalised."""

    def __init__(self, name: str, dim: int = 256) -> None:
        self.name, self.dim = name, dim

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            text = f" {text.lower()} "
            for i in range(len(text) - 1):
                digest = hashlib.blake2b(text[i : i + 2].encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture
def stand_in_encoders(monkeypatch):
    for name in ("use", "minilm"):
        monkeypatch.setitem(enc._loaded, name, HashedBigramEncoder(name))


def test_default_head_is_one_mlp_over_all_pretrained_encoders(stand_in_encoders, tmp_path):
    config = TrainConfig(encoders=("tfidf", "use", "minilm"), cv_folds=2, mlp_hidden=32, mlp_epochs=15)
    model = IntentModel.train(synthetic_examples(), config=config)
    assert [m.name for m in model.members] == ["tfidf", "mlp(use+minilm)"]
    calibration = model.metrics["calibration"]
    assert set(calibration["weights"]) == {"tfidf", "mlp(use+minilm)"}
    assert abs(sum(calibration["weights"].values()) - 1.0) < 1e-9
    assert model.predict("I lost my card").intent == "card_loss_report"

    loaded = IntentModel.load(model.save(tmp_path / "m"))
    assert loaded.config.embedding_head == "mlp"
    texts = ["how much money is in my account", "转账收费吗", "where is the nearest branch"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    for i, text in enumerate(texts):  # single queries give the batch's numbers
        np.testing.assert_allclose(loaded.predict_proba([text])[0], model.predict_proba(texts)[i], atol=1e-5)


def test_mlp_member_alone_learns_the_training_data(stand_in_encoders):
    config = TrainConfig(encoders=("use",), cv_folds=2, mlp_hidden=64, mlp_epochs=100)
    model = IntentModel.train(synthetic_examples(), config=config)
    assert [m.name for m in model.members] == ["mlp(use)"]
    examples = synthetic_examples()
    predicted = [p.intent for p in model.predict_many([e.text for e in examples])]
    assert np.mean([p == e.intent for p, e in zip(predicted, examples)]) >= 0.9


def test_mlp_seeds_make_one_member_that_averages_several_networks(stand_in_encoders, tmp_path):
    config = TrainConfig(encoders=("tfidf", "use"), cv_folds=2, mlp_hidden=32, mlp_epochs=10, mlp_seeds=3)
    model = IntentModel.train(synthetic_examples(), config=config)
    assert [m.name for m in model.members] == ["tfidf", "mlp(use)"]
    head = model.members[1].head
    assert isinstance(head.clf, MLPEnsemble)
    assert [m.seed for m in head.clf.members] == [0, 1, 2]
    loaded = IntentModel.load(model.save(tmp_path / "m"))
    assert loaded.config.mlp_seeds == 3
    texts = ["how much money is in my account", "where is the nearest branch"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    with pytest.raises(ValueError, match="mlp_seeds"):
        TrainConfig(mlp_seeds=0)


def test_logreg_head_keeps_one_member_per_encoder(stand_in_encoders):
    config = TrainConfig(encoders=("tfidf", "use", "minilm"), cv_folds=2, embedding_head="logreg")
    model = IntentModel.train(synthetic_examples(), config=config)
    assert [m.name for m in model.members] == ["tfidf", "use", "minilm"]
    assert set(model.metrics["calibration"]["weights"]) == {"tfidf", "use", "minilm"}


def test_config_embedding_head_validation_and_old_manifests():
    with pytest.raises(ValueError, match="embedding_head"):
        TrainConfig(embedding_head="svm")
    assert TrainConfig().embedding_head == "mlp"
    # Manifests written before the MLP head existed trained one logistic regression per encoder.
    old = TrainConfig.from_dict({"encoders": ["tfidf", "use"], "cv_folds": 3, "embedding_c": 50.0})
    assert old.embedding_head == "logreg"
    assert old.mlp_seeds == 1
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()


def test_mlp_head_scores_classes_a_fold_lacked_below_all_others():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 8)).astype(np.float32)
    y = np.array([0, 2, 3] * 10)  # class 1 absent
    head = _MlpHead(MLPClassifier(hidden=8, epochs=2).fit(x, y), n_classes=4)
    scores = head.scores(x)
    assert scores.shape == (30, 4)
    assert (scores[:, 1] < np.delete(scores, 1, axis=1).min(axis=1)).all()
