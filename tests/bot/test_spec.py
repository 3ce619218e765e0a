"""Flow files are validated at load with errors that name the file and the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from lingxi.bot.actions import ACTIONS
from lingxi.bot.registry import get_flows, standard_intents
from lingxi.bot.spec import FlowError, load_flows, parse_flow

ACTIONS_PROVIDE = {name: a.provides for name, a in ACTIONS.items()}
SHARED_INTENTS = Path(__file__).resolve().parents[3] / "shared" / "intents.yaml"


def parse(source: str):
    return parse_flow(source, "test.yaml", intents=standard_intents(), actions=ACTIONS_PROVIDE)


GOOD = """
id: demo
intent: bill_inquiry
level: L1
title: {zh-CN: 账单, en: Bill}
slots:
  card:
    kind: card
    filter: {kind: credit}
    prompt: {zh-CN: "哪张卡？", en: "Which card?"}
    none: {zh-CN: 没有卡。, en: No card.}
steps:
  - ask: card
  - call: show_bill
    save_as: bill
  - say: {zh-CN: "应还{bill.total}", en: "Due {bill.total}"}
"""


def test_a_good_flow_loads():
    flow = parse(GOOD)
    assert flow.id == "demo" and [flow.step_kind(i) for i in range(3)] == ["ask", "call", "say"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("intent: bill_inquiry", "intent: no_such_intent"), "unknown intent 'no_such_intent'"),
        (("call: show_bill", "call: show_everything"), "unknown action 'show_everything'"),
        (("{bill.total}", "{bill.totl}"), "template uses {bill.totl}, but 'bill' provides"),
        (("应还{bill.total}", "应还{quote.total}"), "nothing before it provides 'quote'"),
        (("kind: card\n", "kind: cards\n"), "slots.card.kind"),
        (("  - ask: card\n", "  - ask: account\n"), "slot 'account' is not declared"),
        (("level: L1", "level: L0"), "below the taxonomy's L1"),
        (("level: L1", "level: L9"), "level must be one of"),
        (('{zh-CN: "哪张卡？", en: "Which card?"}', '{en: "Which card?"}'), "slots.card.prompt.zh-CN"),
        (("    none: {zh-CN: 没有卡。, en: No card.}\n", ""), "needs `none:`"),
        (("  - say:", "  - shout:"), "a step starts with one of"),
    ],
)
def test_mistakes_are_named(change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(FlowError) as error:
        parse(GOOD.replace(old, new, 1))
    assert message in str(error.value) and str(error.value).startswith("test.yaml: ")


def test_not_yaml_and_not_a_mapping():
    with pytest.raises(FlowError, match="not valid YAML"):
        parse("id: [unclosed")
    with pytest.raises(FlowError, match="a flow file is a mapping"):
        parse("- just a list")


def test_one_error_lists_every_broken_file_and_duplicate_intents(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD.replace("id: demo", "id: again"), encoding="utf-8")
    (tmp_path / "c.yaml").write_text("id: [", encoding="utf-8")
    with pytest.raises(FlowError) as error:
        load_flows(tmp_path, intents=standard_intents(), actions=ACTIONS_PROVIDE)
    text = str(error.value)
    assert "b.yaml: intent 'bill_inquiry' already has the flow 'demo'" in text and "c.yaml:" in text


def test_every_task_intent_has_a_flow_and_the_taxonomy_copy_matches_the_contract():
    flows = get_flows()
    tasks = {i for i, info in standard_intents().items() if info["kind"] == "task"}
    assert tasks <= set(flows), sorted(tasks - set(flows))
    if SHARED_INTENTS.is_file():
        bundled = Path(__file__).resolve().parents[2] / "src" / "lingxi" / "bot" / "intents.yaml"
        assert bundled.read_text(encoding="utf-8") == SHARED_INTENTS.read_text(encoding="utf-8")
