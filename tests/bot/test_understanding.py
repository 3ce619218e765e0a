"""Sentiment scoring and slot answers (no database)."""

from __future__ import annotations

import pytest

from lingxi.bot.sentiment import sentiment_score
from lingxi.bot.slots import choice_number, parse_answer, pick_from_list
from lingxi.bot.spec import Option, Slot, Text
from lingxi.nlu.entities import extract_entities


@pytest.mark.parametrize(
    ("text", "strong"),
    [
        ("你们这什么破银行，垃圾服务", True),
        ("我要向银保监会投诉你们", True),
        ("this is the worst bank, absolutely useless!!", True),
        ("我有点着急，转账还没到", False),
        ("我不生气，就是问问", False),
        ("谢谢你，很满意", False),
        ("查一下余额", False),
    ],
)
def test_sentiment(text, strong):
    assert (sentiment_score(text) <= -3) is strong


def test_choice_numbers():
    assert [choice_number(x) for x in ("2", "第二张", "3.", "第1个", "二", "12", "abc")] == [
        2,
        2,
        3,
        1,
        2,
        None,
        None,
    ]


CARDS = [
    {"value": "6258001234565678", "tail": "5678", "product": "灵犀白金信用卡", "kind_name": "信用卡"},
    {"value": "6258009876549012", "tail": "9012", "product": "灵犀青春信用卡", "kind_name": "信用卡"},
]


@pytest.mark.parametrize(
    ("text", "tail"),
    [
        ("尾号5678", "5678"),
        ("9012", "5678" if False else "9012"),
        ("2", "9012"),
        ("白金卡那张", "5678"),
        ("青春卡", "9012"),
        ("信用卡", None),
        ("尾号0000", None),
    ],
)
def test_picking_a_card(text, tail):
    picked = pick_from_list(text, extract_entities(text), CARDS)
    assert (picked or {}).get("tail") == tail


def _text(zh: str) -> Text:
    return Text.model_validate({"zh-CN": zh, "en": zh})


def test_amounts_choices_and_yes_no():
    amount = Slot(kind="amount", prompt=_text("多少？"), min=500, max=100000)
    assert (
        parse_answer(
            slot=amount,
            text="一万五千",
            entities=extract_entities("一万五千"),
            candidates=[],
            language="zh-CN",
        ).value["value"]
        == "15000"
    )
    low = parse_answer(
        slot=amount, text="300", entities=extract_entities("300"), candidates=[], language="zh-CN"
    )
    assert low.value is None and "不能低于" in (low.problem or "")
    periods = Slot(
        kind="choice",
        prompt=_text("几期？"),
        options=[
            Option(value="3", label=_text("3期"), synonyms=["三期"]),
            Option(value="12", label=_text("12期"), synonyms=["十二期", "一年"]),
        ],
    )
    for said, value in (("12期", "12"), ("分一年吧", "12"), ("三期", "3"), ("2", "12")):
        assert (
            parse_answer(slot=periods, text=said, entities=[], candidates=[], language="zh-CN").value["value"]
            == value
        )
    yes_no = Slot(kind="yes_no", prompt=_text("要吗？"))
    assert (
        parse_answer(slot=yes_no, text="好的", entities=[], candidates=[], language="zh-CN").value["value"]
        == "yes"
    )
    assert (
        parse_answer(slot=yes_no, text="不用了", entities=[], candidates=[], language="zh-CN").value["value"]
        == "no"
    )
    assert parse_answer(slot=yes_no, text="随便", entities=[], candidates=[], language="zh-CN").value is None
