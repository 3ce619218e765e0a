"""BANKING77 benchmark of the NLU engine: prints one JSON object.

    python bench/nlu_banking77.py [--encoders tfidf,use,minilm] [--modes cv,holdout,few-shot,curve]
        [--folds 5] [--run-folds N] [--few-shot-seeds 3] [--embedding-head mlp|logreg] [--mlp-epochs 20]
        [--mlp-seeds 1] [--save-model DIR]

1. Trains on the whole training split (cold: encoders not cached) → ``train_seconds`` and the
   single-query latency of that model (``latency_ms``, one ``predict`` call per query, after a warm-up,
   on every k-th training text).
2. ``holdout``: a fixed stratified split (seed 0) of 3,080 test rows — the size of the real BANKING77 test
   split — and the other 6,923 to train → ``holdout_accuracy`` (with ``balanced_accuracy``, the mean
   per-intent recall: the real test split has 40 rows per intent, so this is its closer analogue).
   ``curve`` adds a learning curve: the same test rows with 50 % and 75 % of the holdout's training rows,
   extrapolated (accuracy against ln(rows)) to the whole training split.
3. ``cv``: k-fold stratified cross-validation on the training split (each fold trains a full model,
   calibration and all, on the other folds) → ``cv_accuracy``.
4. ``few-shot``: 10 examples per intent to train, all the other rows to test, averaged over seeds →
   ``few_shot_10_accuracy``.

Pretrained encoders' embeddings are cached in memory after step 1, so steps 2–4 do not pay for encoding
again (their ``train_seconds`` say so). The BANKING77 test split is not in this repository: the holdout
and the cross-validation on the training split are the proxies for it. Both train on less data than the
real setting (6,923 and 8,002 rows against 10,003), so they are expected to read a little low.
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
    gold = [e.intent for e in test]
    recalls = [
        np.mean([p.intent == g for p, g in zip(predictions, gold, strict=True) if g == intent])
        for intent in sorted(set(gold))
    ]
    return {
        **{k: metrics[k] for k in ("accuracy", "macro_f1", "rejected_rate")},
        "balanced_accuracy": round(float(np.mean(recalls)), 4),
    }


def holdout_split(examples: Sequence[Example], test_size: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """A fixed stratified train/test split of row indices (the same rows on every run)."""
    from sklearn.model_selection import train_test_split

    y = [e.intent for e in examples]
    train_idx, test_idx = train_test_split(
        np.arange(len(examples)), test_size=test_size, stratify=y, random_state=seed
    )
    return sorted(int(i) for i in train_idx), sorted(int(i) for i in test_idx)


def _stratified_folds(
    examples: Sequence[Example], folds: int, seed: int
) -> list[tuple[list[int], list[int]]]:
    from sklearn.model_selection import StratifiedKFold

    y = [e.intent for e in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(list(a), list(b)) for a, b in splitter.split(np.zeros(len(y)), y)]


def _train_and_score(
    examples: Sequence[Example], train_idx: Sequence[int], test_idx: Sequence[int], config: TrainConfig
) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    model = IntentModel.train([examples[j] for j in train_idx], config=config)
    seconds = time.perf_counter() - started
    return _score(model, [examples[j] for j in test_idx]), seconds


def _learning_curve(
    examples: Sequence[Example],
    train_idx: Sequence[int],
    test_idx: Sequence[int],
    config: TrainConfig,
    holdout: dict[str, Any],
) -> dict[str, Any]:
    """Holdout accuracy when training on 50 % and 75 % of the holdout's training rows (stratified), and a
    least-squares line of accuracy against ln(rows) through those and the full holdout, extrapolated to
    every row of the data: an estimate of what training on the whole split gives on unseen rows."""
    from sklearn.model_selection import train_test_split

    points = []
    for fraction in (0.5, 0.75):
        subset, _ = train_test_split(
            list(train_idx),
            train_size=fraction,
            stratify=[examples[j].intent for j in train_idx],
            random_state=0,
        )
        scores, _ = _train_and_score(examples, sorted(subset), test_idx, config)
        points.append((len(subset), scores["accuracy"], scores["balanced_accuracy"]))
        print(f"curve {len(subset)} rows: {scores}", file=sys.stderr, flush=True)
    points.append((len(train_idx), holdout["accuracy"], holdout["balanced_accuracy"]))
    log_n = np.log([p[0] for p in points])
    out: dict[str, Any] = {
        "points": [{"n_train": n, "accuracy": a, "balanced_accuracy": b} for n, a, b in points]
    }
    for key, column in (("accuracy", 1), ("balanced_accuracy", 2)):
        slope, intercept = np.polyfit(log_n, [p[column] for p in points], 1)
        estimate = float(intercept + slope * np.log(len(examples)))
        out[f"{key}_extrapolated_to_{len(examples)}"] = round(estimate, 4)
    out["method"] = "least squares of accuracy on ln(training rows), same test rows"
    return out


def run(
    *,
    data: Path,
    config: TrainConfig,
    modes: Sequence[str],
    folds: int,
    run_folds: int | None,
    holdout_size: int,
    few_shot_seeds: int,
    latency_queries: int,
    save_model: Path | None = None,
) -> dict[str, Any]:
    examples = read_examples(data)
    load_started = time.perf_counter()
    caches = _install_cache(config.encoders)  # loads the pretrained encoders
    encoder_load_seconds = time.perf_counter() - load_started

    # 1. full training split, cold; latency of that model with real encoding
    started = time.perf_counter()
    full = IntentModel.train(examples, config=config)
    train_seconds = time.perf_counter() - started
    if save_model is not None:
        full.save(save_model)
    step = max(1, len(examples) // latency_queries)
    latency = measure_latency(full, [e.text for e in examples][::step], max_queries=latency_queries)
    print(f"full: {train_seconds:.1f} s, latency {latency}", file=sys.stderr, flush=True)
    for cache in caches:
        cache.enabled = True
        cache.encode([e.text for e in examples])  # folds then time classifier work only

    # 2. holdout
    holdout: dict[str, Any] | None = None
    if "holdout" in modes:
        train_idx, test_idx = holdout_split(examples, holdout_size)
        scores, seconds = _train_and_score(examples, train_idx, test_idx, config)
        holdout = {
            **scores,
            "n_train": len(train_idx),
            "n_test": len(test_idx),
            "train_seconds": round(seconds, 1),
        }
        print(f"holdout: {holdout}", file=sys.stderr, flush=True)
        if "curve" in modes:
            holdout["learning_curve"] = _learning_curve(examples, train_idx, test_idx, config, holdout)

    # 3. cross-validation
    fold_results, fold_seconds = [], []
    if "cv" in modes:
        for i, (train_idx, test_idx) in enumerate(
            _stratified_folds(examples, folds, seed=0)[: run_folds or folds]
        ):
            scores, seconds = _train_and_score(examples, train_idx, test_idx, config)
            fold_results.append(scores)
            fold_seconds.append(seconds)
            print(f"fold {i + 1}: {scores}", file=sys.stderr, flush=True)

    # 4. few-shot, 10 examples per intent
    few_shot = []
    if "few-shot" in modes:
        by_intent: dict[str, list[int]] = {}
        for j, e in enumerate(examples):
            by_intent.setdefault(e.intent, []).append(j)
        for seed in range(few_shot_seeds):
            rng = random.Random(seed)
            chosen = {j for rows in by_intent.values() for j in rng.sample(rows, min(10, len(rows)))}
            rest = [j for j in range(len(examples)) if j not in chosen]
            scores, _ = _train_and_score(examples, sorted(chosen), rest, config)
            few_shot.append(scores)
            print(f"few-shot seed {seed}: {few_shot[-1]}", file=sys.stderr, flush=True)

    accuracies = [r["accuracy"] for r in fold_results]
    return {
        "benchmark": "banking77",
        "data": str(data),
        "n": len(examples),
        "intents": len(full.intents),
        "encoders": list(config.encoders),
        "members": [m.name for m in full.members],
        "config": config.to_dict(),
        "holdout_accuracy": holdout,
        "cv_accuracy": {
            "mean": round(float(np.mean(accuracies)), 4),
            "std": round(float(np.std(accuracies)), 4),
            "per_fold": accuracies,
            "balanced_mean": round(float(np.mean([r["balanced_accuracy"] for r in fold_results])), 4),
            "macro_f1_mean": round(float(np.mean([r["macro_f1"] for r in fold_results])), 4),
            "folds": folds,
            "folds_run": len(fold_results),
            "fold_train_seconds_mean": round(float(np.mean(fold_seconds)), 1),
            "rejected_rate_mean": round(float(np.mean([r["rejected_rate"] for r in fold_results])), 4),
        }
        if fold_results
        else None,
        "few_shot_10_accuracy": {
            "mean": round(float(np.mean([r["accuracy"] for r in few_shot])), 4),
            "per_seed": [r["accuracy"] for r in few_shot],
        }
        if few_shot
        else None,
        "train_seconds": round(train_seconds, 1),
        "train_seconds_note": "full training split, cold (encoding included, encoder loading excluded)",
        "encoder_load_seconds": round(encoder_load_seconds, 1),
        "validation_accuracy_full_model": full.metrics["validation"]["accuracy"],
        "calibration_full_model": full.metrics["calibration"],
        "oos_threshold": full.threshold,
        "latency_ms": latency,
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
    }


MODES = ("cv", "holdout", "few-shot", "curve")  # curve: a learning curve on the holdout


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--encoders", default="tfidf", help="comma-separated: tfidf,use,minilm,minilm-int8,mpnet,mpnet-int8"
    )
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ",".join(MODES))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--run-folds", type=int, default=None, help="run only the first N folds")
    parser.add_argument("--holdout-size", type=int, default=3080, help="test rows of the holdout split")
    parser.add_argument("--few-shot-seeds", type=int, default=3)
    parser.add_argument("--latency-queries", type=int, default=500)
    parser.add_argument(
        "--cv-folds", type=int, default=TrainConfig().cv_folds, help="the model's calibration folds"
    )
    parser.add_argument("--embedding-head", choices=["mlp", "logreg"], default=TrainConfig().embedding_head)
    parser.add_argument("--mlp-epochs", type=int, default=TrainConfig().mlp_epochs)
    parser.add_argument(
        "--mlp-seeds", type=int, default=TrainConfig().mlp_seeds, help="MLPs averaged in the MLP head"
    )
    parser.add_argument("--save-model", type=Path, default=None, help="save the full-split model here")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}")
    config = TrainConfig(
        encoders=tuple(e for e in args.encoders.split(",") if e),
        cv_folds=args.cv_folds,
        embedding_head=args.embedding_head,
        mlp_epochs=args.mlp_epochs,
        mlp_seeds=args.mlp_seeds,
    )
    result = run(
        data=args.data,
        config=config,
        modes=modes,
        folds=args.folds,
        run_folds=args.run_folds,
        holdout_size=args.holdout_size,
        few_shot_seeds=args.few_shot_seeds,
        latency_queries=args.latency_queries,
        save_model=args.save_model,
    )
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
