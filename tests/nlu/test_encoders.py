"""Optional pretrained encoders: run only where their packages are installed (the nlu extras)."""

import numpy as np
import pytest

from lingxi.nlu import IntentModel, TrainConfig
from lingxi.nlu.encoders import available_encoders, get_encoder
from tests.nlu.synthetic import synthetic_examples


@pytest.mark.parametrize("name", ["use", "minilm"])
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
