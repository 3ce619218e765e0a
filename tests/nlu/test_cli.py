import json

import pytest
from click.testing import CliRunner

from lingxi.nlu.cli import commands
from tests.nlu.synthetic import synthetic_csv


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("nlu-cli")
    data = root / "train.csv"
    data.write_text(synthetic_csv(), encoding="utf-8-sig")
    out = root / "model"
    result = CliRunner().invoke(
        commands, ["train", "--data", str(data), "--out", str(out), "--cv-folds", "3", "--encoders", "tfidf"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["intents"] == 6 and summary["encoders"] == ["tfidf"]
    return data, out


def test_eval_json_shape(trained):
    data, out = trained
    result = CliRunner().invoke(commands, ["eval", "--model", str(out), "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("accuracy", "macro_f1", "n", "latency_ms", "per_intent", "confusions", "rejected_rate"):
        assert key in report
    assert report["n"] == 72
    assert 0.9 <= report["accuracy"] <= 1.0
    assert {"p50", "p99"} <= set(report["latency_ms"])
    assert report["latency_ms"]["p50"] <= report["latency_ms"]["p99"]


def test_eval_text_report_lists_intents_and_latency(trained):
    data, out = trained
    result = CliRunner().invoke(commands, ["eval", "--model", str(out), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "p99" in result.output
    assert "card_loss_report" in result.output and "precision" in result.output


def test_predict_command(trained):
    _, out = trained
    result = CliRunner().invoke(commands, ["predict", "--model", str(out), "-k", "2", "我的卡丢了"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)
    assert line["intent"] == "card_loss_report" and len(line["alternatives"]) == 1


def test_clear_errors(tmp_path, trained):
    data, out = trained
    runner = CliRunner()
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    result = runner.invoke(commands, ["train", "--data", str(empty), "--out", str(tmp_path / "m")])
    assert result.exit_code != 0 and "empty" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("utterance,intent\nhi,greeting\n", encoding="utf-8")
    result = runner.invoke(commands, ["eval", "--model", str(out), "--data", str(bad)])
    assert result.exit_code != 0 and "text" in result.output
    result = runner.invoke(commands, ["eval", "--model", str(tmp_path / "none"), "--data", str(data)])
    assert result.exit_code != 0 and "manifest" in result.output
    result = runner.invoke(
        commands, ["train", "--data", str(data), "--out", str(tmp_path / "m"), "--encoders", "bert"]
    )
    assert result.exit_code != 0 and "unknown encoder" in result.output


def test_auto_encoders_are_the_recommended_installed_ensemble(tmp_path, monkeypatch):
    from lingxi.nlu import encoders

    monkeypatch.setattr(encoders, "available_encoders", lambda: ["tfidf", "use", "minilm"])
    assert encoders.recommended_encoders() == ("tfidf", "use")  # minilm-int8 needs onnxruntime too
    monkeypatch.setattr(encoders, "available_encoders", lambda: ["tfidf"])
    assert encoders.recommended_encoders() == ("tfidf",)
    # The default of `train` is auto: without the extras it trains TF-IDF alone and says so.
    data = tmp_path / "train.csv"
    data.write_text(synthetic_csv(), encoding="utf-8-sig")
    result = CliRunner().invoke(commands, ["train", "--data", str(data), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["encoders"] == ["tfidf"]
    assert "encoders tfidf" in result.stderr
