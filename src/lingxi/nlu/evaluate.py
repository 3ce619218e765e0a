"""Evaluation of an intent model on labelled examples: accuracy, macro-F1, per-intent figures, confusions,
out-of-scope handling, and single-query latency.

``accuracy`` and ``macro_f1`` score the top intent of the in-scope rows (as the BANKING77 literature does);
rejection is reported beside them: ``rejected_rate`` (in-scope rows flagged out of scope) and
``accuracy_with_rejection`` (a row counts when an in-scope row is answered right and not rejected, or an
out-of-scope row is rejected). Rows labelled with the model's out-of-scope label count only in the ``oos``
block and in ``accuracy_with_rejection``.
"""

from __future__ import annotations

import platform
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lingxi.nlu.corpus import Example

if TYPE_CHECKING:
    from lingxi.nlu.model import IntentModel, Prediction


def classification_metrics(
    gold: Sequence[str],
    predicted: Sequence[Prediction],
    *,
    oos_label: str = "out_of_scope",
    top_confusions: int = 10,
) -> dict[str, Any]:
    in_rows = [i for i, g in enumerate(gold) if g != oos_label]
    oos_rows = [i for i, g in enumerate(gold) if g == oos_label]
    y_true = [gold[i] for i in in_rows]
    y_pred = [predicted[i].intent for i in in_rows]
    intents = sorted(set(y_true) | set(y_pred))
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    for t, p in zip(y_true, y_pred, strict=True):
        if t == p:
            tp[t] += 1
        else:
            fp[p] += 1
            fn[t] += 1
            confusions[(t, p)] += 1
    per_intent: dict[str, dict[str, float | int]] = {}
    f1s = []
    for intent in intents:
        support = tp[intent] + fn[intent]
        precision = tp[intent] / (tp[intent] + fp[intent]) if tp[intent] + fp[intent] else 0.0
        recall = tp[intent] / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
        if support:
            f1s.append(f1)
    n_in = len(in_rows)
    rejected = sum(predicted[i].out_of_scope for i in in_rows)
    answered_right = sum(
        (not predicted[i].out_of_scope) and predicted[i].intent == gold[i] for i in in_rows
    ) + sum(predicted[i].out_of_scope for i in oos_rows)
    result: dict[str, Any] = {
        "n": len(gold),
        "accuracy": round(sum(tp.values()) / n_in, 4) if n_in else None,
        "macro_f1": round(float(np.mean(f1s)), 4) if f1s else None,
        "rejected_rate": round(rejected / n_in, 4) if n_in else None,
        "accuracy_with_rejection": round(answered_right / len(gold), 4) if gold else None,
        "per_intent": per_intent,
        "confusions": [
            {"gold": t, "predicted": p, "count": c}
            for (t, p), c in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))[:top_confusions]
        ],
    }
    if oos_rows:
        result["oos"] = {
            "n": len(oos_rows),
            "recall": round(sum(predicted[i].out_of_scope for i in oos_rows) / len(oos_rows), 4),
        }
    return result


def measure_latency(model: IntentModel, texts: Sequence[str], *, max_queries: int = 300) -> dict[str, float]:
    """Single-query latency (one ``predict`` call per text, after a warm-up), in milliseconds."""
    sample = list(texts)[:max_queries]
    if not sample:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "mean": 0.0, "queries": 0}
    for text in sample[:5]:
        model.predict(text)
    times = []
    for text in sample:
        start = time.perf_counter()
        model.predict(text)
        times.append((time.perf_counter() - start) * 1000)
    arr = np.array(times)
    return {
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p90": round(float(np.percentile(arr, 90)), 3),
        "p99": round(float(np.percentile(arr, 99)), 3),
        "mean": round(float(arr.mean()), 3),
        "queries": len(sample),
    }


def evaluate(
    model: IntentModel, examples: Sequence[Example], *, latency_queries: int = 300, k: int = 3
) -> dict[str, Any]:
    """Score a model on labelled examples (see module docstring)."""
    texts = [e.text for e in examples]
    predictions = model.predict_many(texts, k=k)
    result = classification_metrics(
        [e.intent for e in examples], predictions, oos_label=model.config.oos_label
    )
    unknown = sorted({e.intent for e in examples} - set(model.labels))
    result["unknown_intents"] = unknown
    # Spread the latency sample over the file (it is often sorted by intent).
    step = max(1, len(texts) // max(latency_queries, 1))
    result["latency_ms"] = measure_latency(model, texts[::step], max_queries=latency_queries)
    result["model"] = {"version_id": model.version_id, "encoders": list(model.encoders)}
    result["machine"] = machine_info()
    return result


def machine_info() -> dict[str, Any]:
    import os

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
