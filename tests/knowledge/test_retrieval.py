"""Retrieval building blocks: tokens, synonyms, BM25, the decision rule, filters and the calibration."""

from __future__ import annotations

from datetime import date

import numpy as np

from lingxi.knowledge import retrieval
from lingxi.knowledge.retrieval import Bm25, IndexedEntry, canonical_text, decide, lexical_tokens


def entry(n: int, question: str, similar: tuple[str, ...] = (), **fields) -> IndexedEntry:
    values = {
        "entry_id": n,
        "key": f"e{n}",
        "version": 1,
        "language": "zh-CN",
        "category": "测试",
        "intent": None,
        "standard_question": question,
        "similar_questions": similar,
        "answer_html": "<p>答</p>",
        "answer_text": "答",
        "channels": frozenset(),
        "valid_from": None,
        "valid_to": None,
        **fields,
    }
    return IndexedEntry(**values)


def test_text_is_normalised_and_synonyms_are_folded():
    assert canonical_text("儲蓄卡年費") == canonical_text("储蓄卡年费") == "借记卡年费"
    assert canonical_text("在国外的ＡＴＭ取钱") == "在境外的取款机取现"
    assert canonical_text("My OTP never arrives") == "my verification code never arrives"
    assert canonical_text("cancellation") == "cancellation"  # whole English words only
    tokens = lexical_tokens("信用卡年费怎么免？")
    assert (
        "年费" in tokens and "·年费" in tokens and "怎么" not in tokens
    )  # words, bigrams, no function words
    for form in ("activate", "activating", "activated", "activation"):
        assert lexical_tokens(f"{form} my card") == ("activat", "card")


def test_bm25_prefers_rare_terms_and_short_documents():
    bm25 = Bm25([["年费", "信用卡"], ["信用卡", "额度"], ["信用卡", "年费", "减免", "条件", "说明"]])
    ids, mass = bm25.query_terms(["年费", "信用卡", "未知词"])
    scores = bm25.scores(ids)
    assert scores[0] > scores[2] > scores[1]  # "年费" is rarer than "信用卡"; the short document wins
    assert mass > bm25.idf[ids].sum()  # the unknown word still counts in the query's mass


def test_decision_rule():
    assert decide([]) == "none"
    assert decide([0.9, 0.5]) == "answer"
    assert decide([0.9, 0.75]) == "suggest"  # not far enough ahead
    assert decide([0.55, 0.1]) == "suggest"  # not high enough
    assert decide([0.19, 0.1]) == "none"
    assert decide([retrieval.ANSWER_THRESHOLD]) == "answer"


def test_channels_validity_and_exact_questions():
    index = retrieval.FaqIndex(
        [
            entry(1, "网点几点开门", ("营业时间",)),
            entry(2, "短信版营业时间", channels=frozenset({"sms"})),
            entry(3, "春节营业安排", valid_from=date(2027, 1, 20), valid_to=date(2027, 2, 10)),
        ],
        language="zh-CN",
    )
    assert index.calibration.source == "default" and index.calibration.queries == 2
    today = date(2026, 12, 1)
    assert index.serving("webchat", today).tolist() == [True, False, False]
    assert index.serving("sms", today).tolist() == [True, True, False]
    assert index.serving(None, date(2027, 2, 10)).tolist() == [True, True, True]
    result = index.search("营业时间", channel="webchat", today=today)
    assert result.decision == "answer" and result.top is not None and result.top.key == "e1"
    assert result.top.matched_question == "营业时间"
    assert [h.key for h in result.hits] == ["e1"]  # the others do not serve web chat today
    assert index.search("营业时间", channel="ivr", today=date(2027, 1, 25)).hits[1].key == "e3"
    assert index.search("   ", channel="webchat", today=today).decision == "none"
    empty = retrieval.FaqIndex([], language="zh-CN")
    assert empty.search("营业时间", channel=None, today=today).hits == ()


def test_calibration_is_fitted_on_leave_one_out_questions():
    topics = ["年费", "积分", "挂失", "转账", "开户", "销户", "理财", "贷款", "外汇", "网点", "密码", "额度"]
    entries = [
        entry(n, f"{t}怎么办理", (f"{t}的流程", f"我想问{t}", f"{t}要带什么"), category=t)
        for n, t in enumerate(topics, start=1)
    ]
    index = retrieval.FaqIndex(entries, language="zh-CN")
    calibration = index.calibration
    assert calibration.queries == 48
    if calibration.source == "fitted":
        assert calibration.weights[0] > 0 and calibration.weights[1] > 0 and calibration.weights[2] == 0.0
    groups, asked = retrieval.calibration_groups(index)
    assert asked == 48 and all(g.shape == (11, 3) for g in groups)
    # Leave-one-out: a question never finds itself.
    own = index.signals(index.documents[1], exclude_document=1)
    full = index.signals(index.documents[1])
    assert own["lexical"][0] < full["lexical"][0]
    assert np.isclose(full["lexical"][0], 1.0)
