"""The chat benchmark still measures something: a short, light run delivers every message it sends.

Figures are not checked (benchmarks never pass or fail on time); the instrument must not rot.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from lingxi.cli import main


def test_a_short_chat_benchmark_delivers_every_message() -> None:
    result = CliRunner().invoke(
        main,
        ["bench", "chat", "--json", "--customers", "6", "--agents", "2", "--rate", "60", "--duration", "1"],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["backend"] == "sqlite"
    assert figures["messages_delivered"] >= 30
    assert figures["errors"] == 0
    assert figures["undelivered_after_run"] == 0
    assert set(figures["latency_ms"]) >= {"p50", "p99"}
