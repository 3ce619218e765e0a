"""Search: decisions, channel and validity filters, intent answers, and edits that take effect at once,
in this process and in another one."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date

from lingxi.knowledge import service
from lingxi.knowledge.retrieval import Hit, SearchResult
from tests.auth.helpers import bearer
from tests.knowledge.helpers import act, content, error_code, publish

ANNUAL_FEE = {
    "standard_question": "信用卡年费怎么收？怎么免年费？",
    "similar_questions": ["信用卡年费能不能免", "刷几次卡可以免年费", "白金卡年费多少钱"],
    "answer": "<p>普卡首年免年费，刷卡满 6 次免次年年费。</p>",
    "category": "信用卡",
    "intent": "annual_fee",
}
CREDIT_REPORT = {
    "standard_question": "怎么查询个人征信报告？",
    "similar_questions": ["哪里能打印征信报告", "手机上能查征信吗"],
    "answer": "<p>在APP「我的-征信查询」申请，或到网点自助查询机打印。</p>",
    "category": "贷款",
}
BRANCH_HOURS = {
    "standard_question": "网点营业时间是几点到几点？",
    "similar_questions": ["银行几点下班", "周末网点开门吗"],
    "answer": "<p>周一至周五 9:00–17:00。</p>",
    "category": "服务与网点",
    "intent": "branch_inquiry",
}


async def search(api, token, q, **params):
    r = await api.get("/api/knowledge/search", params={"q": q, **params}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


async def test_search_ranks_published_entries(api, editors, make_staff):
    author, reviewer = editors
    _, agent = await make_staff("agent")
    for body in (ANNUAL_FEE, CREDIT_REPORT, BRANCH_HOURS):
        await publish(api, author, reviewer, **content(**body))
    result = await search(api, agent, "信用卡年费怎么收？怎么免年费？")
    assert result["decision"] == "answer" and result["prompt"] is None
    top = result["hits"][0]
    assert top["standard_question"] == ANNUAL_FEE["standard_question"] and top["intent"] == "annual_fee"
    assert top["answer_text"] == "普卡首年免年费，刷卡满 6 次免次年年费。"
    scores = [h["score"] for h in result["hits"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert top["score"] > 0.6 and top["lexical"] > 0.5 and top["semantic"] > 0.5
    result = await search(api, agent, "哪里可以打印征信报告呀")
    assert result["hits"][0]["standard_question"] == CREDIT_REPORT["standard_question"]
    assert result["hits"][0]["matched_question"] == "哪里能打印征信报告"
    nothing = await search(api, agent, "zzqx wpvk")
    assert nothing["decision"] == "none"
    empty = await search(api, agent, "年费", language="en")  # no English entries
    assert empty == {**empty, "decision": "none", "hits": []}
    r = await api.get("/api/knowledge/search", params={"q": ""}, headers=bearer(agent))
    assert r.status_code == 422 and error_code(r) == "validation_failed"
    r = await api.get("/api/knowledge/search", params={"q": "年费", "channel": "fax"}, headers=bearer(agent))
    assert r.status_code == 422


async def test_drafts_and_reviews_are_not_searchable(api, editors):
    author, reviewer = editors
    draft = (
        await api.post("/api/knowledge/entries", json=content(**ANNUAL_FEE), headers=bearer(author))
    ).json()
    await act(api, author, draft, "submit")
    result = await search(api, reviewer, ANNUAL_FEE["standard_question"])
    assert result["hits"] == [] and result["decision"] == "none"


async def test_validity_dates(api, editors, monkeypatch):
    author, reviewer = editors
    monkeypatch.setattr(service, "bank_today", lambda: date(2026, 11, 30))
    await publish(
        api, author, reviewer, **content(**ANNUAL_FEE, valid_from="2026-12-01", valid_to="2026-12-31")
    )
    await publish(api, author, reviewer, **content(**CREDIT_REPORT))
    for today, found in (
        (date(2026, 11, 30), False),
        (date(2026, 12, 1), True),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), False),
    ):
        monkeypatch.setattr(service, "bank_today", lambda today=today: today)
        result = await search(api, author, ANNUAL_FEE["standard_question"], limit=5)
        keys = [h["standard_question"] for h in result["hits"]]
        assert (ANNUAL_FEE["standard_question"] in keys) is found, (today, keys)
    # Publishing an answer that has already expired is refused.
    monkeypatch.setattr(service, "bank_today", lambda: date(2027, 1, 1))
    entry = (
        await api.post("/api/knowledge/entries", json=content(valid_to="2026-12-31"), headers=bearer(author))
    ).json()
    submitted = (await act(api, author, entry, "submit")).json()
    r = await act(api, reviewer, submitted, "approve")
    assert r.status_code == 422 and error_code(r) == "expired"


async def test_channel_filter_and_intent_answers(api, editors, db):
    author, reviewer = editors
    general = await publish(api, author, reviewer, **content(**BRANCH_HOURS))
    sms = await publish(
        api,
        author,
        reviewer,
        **content(
            standard_question="网点几点开门（短信版）",
            answer="工作日9:00-17:00，周末部分网点营业。",
            category="服务与网点",
            intent="branch_inquiry",
            channels=["sms"],
        ),
    )
    web = await search(api, author, "网点几点开门", channel="webchat", limit=5)
    assert sms["id"] not in [h["entry_id"] for h in web["hits"]]
    by_sms = await search(api, author, "网点几点开门", channel="sms", limit=5)
    assert sms["id"] in [h["entry_id"] for h in by_sms["hits"]]
    async with db.sessionmaker() as s:
        answer = await service.get_published_answer(
            session=s, intent="branch_inquiry", language="zh-CN", channel="sms"
        )
        assert answer is not None and answer.entry_id == sms["id"]  # the channel's own answer first
        assert answer.answer_for("sms") == "工作日9:00-17:00，周末部分网点营业。"
        answer = await service.get_published_answer(
            session=s, intent="branch_inquiry", language="zh-CN", channel="webchat"
        )
        assert answer is not None and answer.entry_id == general["id"]
        assert answer.answer_for("webchat") == "<p>周一至周五 9:00–17:00。</p>"
        assert answer.answer_for("wechat") == "周一至周五 9:00–17:00。"
        assert (
            await service.get_published_answer(
                session=s, intent="annual_fee", language="zh-CN", channel="webchat"
            )
            is None
        )
        assert (
            await service.get_published_answer(
                session=s, intent="branch_inquiry", language="en", channel="webchat"
            )
            is None
        )
        # A suggestion picked by id: only while it is published and serves the channel.
        picked = await service.get_published_entry(
            session=s, entry_id=sms["id"], language="zh-CN", channel="sms"
        )
        assert picked is not None and picked.standard_question == "网点几点开门（短信版）"
        for entry_id, channel in ((sms["id"], "webchat"), (424242, "sms")):
            assert (
                await service.get_published_entry(
                    session=s, entry_id=entry_id, language="zh-CN", channel=channel
                )
                is None
            )


async def test_edits_take_effect_without_a_restart(api, editors):
    author, reviewer = editors
    cache = service.get_index_cache()
    entry = await publish(api, author, reviewer, **content(**CREDIT_REPORT))
    builds = cache.builds
    first = await search(api, author, "征信报告去哪里打印")
    assert first["hits"][0]["entry_id"] == entry["id"] and cache.builds == builds + 1
    again = await search(api, author, "征信报告去哪里打印")
    assert again["revision"] == first["revision"] and cache.builds == builds + 1  # no rebuild
    r = await api.put(
        f"/api/knowledge/entries/{entry['id']}/draft",
        json={
            **content(**{**CREDIT_REPORT, "answer": "<p>新答案：APP 即可查询。</p>"}),
            "revision": entry["revision"],
        },
        headers=bearer(author),
    )
    assert (await search(api, author, "征信报告去哪里打印"))["hits"][0][
        "version"
    ] == 1  # a draft changes nothing
    submitted = (await act(api, author, r.json(), "submit")).json()
    approved = (await act(api, reviewer, submitted, "approve")).json()
    after = await search(api, author, "征信报告去哪里打印")
    assert after["revision"] == first["revision"] + 1 and cache.builds == builds + 2
    assert after["hits"][0]["version"] == 2 and after["hits"][0]["answer_text"] == "新答案：APP 即可查询。"
    await act(api, author, approved, "withdraw", reason="改由人工解答")
    gone = await search(api, author, "征信报告去哪里打印")
    assert gone["hits"] == [] and gone["decision"] == "none"


SEARCHER = """
import asyncio, json, sys
from lingxi.core.db import Database, set_database
from lingxi.knowledge import service
from lingxi.settings import Settings

async def main():
    database = Database(Settings(database_url=sys.argv[1]))
    set_database(database)
    for line in sys.stdin:
        async with database.sessionmaker() as session:
            result = await service.search(
                session=session, query=line.strip(), language="zh-CN", channel="app"
            )
        print(json.dumps({"revision": result.revision, "ids": [h.entry_id for h in result.hits],
                          "builds": service.get_index_cache().builds}), flush=True)
    await database.dispose()

asyncio.run(main())
"""


async def test_another_process_sees_a_publication_at_its_next_search(api, editors, db):
    """A second process keeps its own index; the kb_state stamp tells it to rebuild after a publication."""
    author, reviewer = editors
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SEARCHER,
        db.settings.database_url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "LINGXI_LOG_LEVEL": "WARNING"},
    )
    assert process.stdin is not None and process.stdout is not None

    async def ask(query: str) -> dict:
        process.stdin.write(query.encode() + b"\n")
        await process.stdin.drain()
        line = await asyncio.wait_for(process.stdout.readline(), timeout=120)
        assert line, "the search process ended"
        return json.loads(line)

    try:
        before = await ask("信用卡年费能免吗")
        assert before == {"revision": 0, "ids": [], "builds": 1}
        entry = await publish(api, author, reviewer, **content(**ANNUAL_FEE))
        seen = await ask("信用卡年费能免吗")
        assert seen["revision"] == 1 and seen["ids"][0] == entry["id"] and seen["builds"] == 2
        assert (await ask("年费可以减免吗"))["builds"] == 2  # nothing changed: the same index
        await act(api, author, entry, "withdraw", reason="暂停")
        assert (await ask("信用卡年费能免吗"))["ids"] == []
    finally:
        process.stdin.close()
        await asyncio.wait_for(process.wait(), timeout=60)


def test_suggestion_prompt() -> None:
    def hit(question: str, score: float) -> Hit:
        return Hit(1, "k", 1, "zh-CN", "c", None, question, question, "<p>a</p>", "a", score, 0.5, 0.5, 0.0)

    hits = (hit("信用卡年费怎么免？", 0.45), hit("借记卡有年费吗？", 0.3), hit("白金卡权益有哪些？", 0.2))
    result = SearchResult("suggest", hits, "年费", "zh-CN", "webchat", 3)
    assert service.format_suggestions(result) == (
        "您是想问：\n1. 信用卡年费怎么免？\n2. 借记卡有年费吗？\n3. 白金卡权益有哪些？\n"
        "请回复序号，或换个说法再问我。"
    )
    english = SearchResult("suggest", hits[:1], "fee", "en", "webchat", 3)
    assert service.format_suggestions(english).startswith("Did you mean:\n1. ")
    assert service.format_suggestions(SearchResult("answer", hits, "年费", "zh-CN", "webchat", 3)) is None
