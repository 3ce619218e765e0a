"""BANKING77 benchmark of the NLU engine: prints one JSON object.

    python bench/nlu_banking77.py [--encoders tfidf,use,minilm] [--folds 5] [--few-shot-seeds 3]

1. Trains on the whole training split (cold: encoders not cached) → ``train_seconds`` and the
   single-query latency of that model (``latency_ms``, one ``predict`` call per query).
2. k-fold stratified cross-validation on the training split (each fold trains a full model, calibration
   and all, on the other folds) → ``cv_accuracy``.
3. Few-shot: 10 examples per intent to train, all the other rows to test, averaged over seeds →
   ``few_shot_10_accuracy``.

Pretrained encoders' embeddings are cached in memory after step 1, so steps 2 and 3 do not pay for
encoding again (their ``train_seconds`` say so). The BANKING77 test split is not in this repository: the
cross-validated accuracy on the training split is the proxy for it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lingxi.nlu import Example, IntentModel, TrainConfig, read_examples  # noqa: E402
from lingxi.nlu import encoders as nlu_encoders  # noqa: E402
from lingxi.nlu.evaluate import classification_metrics, measure_latency  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv"


class _CachedEncoder:
    """Memoises a pretrained encoder's embeddings by text (the encoders are deterministic)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.cache: dict[str, np.ndarray] = {}
        self.enabled = False

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not self.enabled:
            return self.inner.encode(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            for text, vec in zip(missing, self.inner.encode(missing), strict=True):
                self.cache[text] = vec
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


def _install_cache(encoders: Sequence[str]) -> list[_CachedEncoder]:
    cached = []
    for name in encoders:
        if name == "tfidf":
            continue
        wrapper = _CachedEncoder(nlu_encoders.get_encoder(name))
        nlu_encoders._loaded[name] = wrapper
        cached.append(wrapper)
    return cached


def _score(model: IntentModel, test: Sequence[Example]) -> dict[str, Any]:
    predictions = model.predict_many([e.text for e in test])
    metrics = classification_metrics([e.intent for e in test], predictions)
    return {k: metrics[k] for k in ("accuracy", "macro_f1", "rejected_rate")}


def _stratified_folds(
    examples: Sequence[Example], folds: int, seed: int
) -> list[tuple[list[int], list[int]]]:
    from sklearn.model_selection import StratifiedKFold

    y = [e.intent for e in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(list(a), list(b)) for a, b in splitter.split(np.zeros(len(y)), y)]


def run(
    *,
    data: Path,
    encoders: Sequence[str],
    folds: int,
    run_folds: int | None,
    few_shot_seeds: int,
    latency_queries: int,
    cv_folds: int,
) -> dict[str, Any]:
    examples = read_examples(data)
    config = TrainConfig(encoders=tuple(encoders), cv_folds=cv_folds)
    load_started = time.perf_counter()
    caches = _install_cache(config.encoders)  # loads the pretrained encoders
    encoder_load_seconds = time.perf_counter() - load_started

    # 1. full training split, cold
    started = time.perf_counter()
    full = IntentModel.train(examples, config=config)
    train_seconds = time.perf_counter() - started
    for cache in caches:
        cache.enabled = True

    # 2. cross-validation
    split = _stratified_folds(examples, folds, seed=0)[: run_folds or folds]
    fold_results, fold_seconds, latency = [], [], None
    for i, (train_idx, test_idx) in enumerate(split):
        train = [examples[j] for j in train_idx]
        test = [examples[j] for j in test_idx]
        if caches:  # warm the cache so fold timings are classifier work only
            for cache in caches:
                cache.encode([e.text for e in examples])
        started = time.perf_counter()
        model = IntentModel.train(train, config=config)
        fold_seconds.append(time.perf_counter() - started)
        fold_results.append(_score(model, test))
        if i == 0:
            for cache in caches:
                cache.enabled = False  # latency with real encoding
            step = max(1, len(test) // latency_queries)
            latency = measure_latency(model, [e.text for e in test][::step], max_queries=latency_queries)
            for cache in caches:
                cache.enabled = True
        print(f"fold {i + 1}: {fold_results[-1]}", file=sys.stderr, flush=True)

    # 3. few-shot, 10 examples per intent
    few_shot = []
    by_intent: dict[str, list[int]] = {}
    for j, e in enumerate(examples):
        by_intent.setdefault(e.intent, []).append(j)
    for seed in range(few_shot_seeds):
        rng = random.Random(seed)
        chosen = {j for rows in by_intent.values() for j in rng.sample(rows, min(10, len(rows)))}
        train = [examples[j] for j in sorted(chosen)]
        test = [e for j, e in enumerate(examples) if j not in chosen]
        model = IntentModel.train(train, config=config)
        few_shot.append(_score(model, test))
        print(f"few-shot seed {seed}: {few_shot[-1]}", file=sys.stderr, flush=True)

    accuracies = [r["accuracy"] for r in fold_results]
    return {
        "benchmark": "banking77",
        "data": str(data),
        "n": len(examples),
        "intents": len(full.intents),
        "encoders": list(config.encoders),
        "cv_accuracy": {
            "mean": round(float(np.mean(accuracies)), 4),
            "std": round(float(np.std(accuracies)), 4),
            "per_fold": accuracies,
            "macro_f1_mean": round(float(np.mean([r["macro_f1"] for r in fold_results])), 4),
            "folds": folds,
            "folds_run": len(split),
        },
        "few_shot_10_accuracy": {
            "mean": round(float(np.mean([r["accuracy"] for r in few_shot])), 4) if few_shot else None,
            "per_seed": [r["accuracy"] for r in few_shot],
        },
        "train_seconds": round(train_seconds, 1),
        "train_seconds_note": "full training split, cold (encoding included, encoder loading excluded)",
        "encoder_load_seconds": round(encoder_load_seconds, 1),
        "fold_train_seconds_mean": round(float(np.mean(fold_seconds)), 1),
        "validation_accuracy_full_model": full.metrics["validation"]["accuracy"],
        "oos_threshold": full.threshold,
        "rejected_rate_cv_mean": round(float(np.mean([r["rejected_rate"] for r in fold_results])), 4),
        "latency_ms": latency,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--encoders", default="tfidf", help="comma-separated: tfidf,use,minilm")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--run-folds", type=int, default=None, help="run only the first N folds")
    parser.add_argument("--few-shot-seeds", type=int, default=3)
    parser.add_argument("--latency-queries", type=int, default=500)
    parser.add_argument(
        "--cv-folds", type=int, default=TrainConfig().cv_folds, help="the model's calibration folds"
    )
    args = parser.parse_args(argv)
    result = run(
        data=args.data,
        encoders=[e for e in args.encoders.split(",") if e],
        folds=args.folds,
        run_folds=args.run_folds,
        few_shot_seeds=args.few_shot_seeds,
        latency_queries=args.latency_queries,
        cv_folds=args.cv_folds,
    )
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
