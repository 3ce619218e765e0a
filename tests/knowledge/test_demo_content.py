"""The demo knowledge base: a published answer for every FAQ intent in both languages, loaded with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from lingxi.demo.knowledge import demo_entries
from lingxi.knowledge import service
from lingxi.knowledge.intents import TAXONOMY_FILE, faq_intents, load_intents
from lingxi.knowledge.models import KnowledgeEntry, KnowledgeVersion
from lingxi.settings import PROJECT_ROOT
from tests.demo.fixtures import demo_bank, demo_db, demo_session, staff_token

__all__ = ["demo_bank", "demo_db", "demo_session", "staff_token"]

SHARED_TAXONOMY = PROJECT_ROOT.parent / "shared" / "intents.yaml"


@pytest.mark.skipif(
    not SHARED_TAXONOMY.is_file(), reason="the project's shared/ folder is not beside the repo"
)
def test_packaged_taxonomy_is_the_contract_file():
    assert TAXONOMY_FILE.read_bytes() == Path(SHARED_TAXONOMY).read_bytes()


def test_demo_content_covers_every_faq_intent_in_both_languages():
    entries = demo_entries()
    covered = {(c.intent, c.language) for _, c in entries if c.intent}
    for intent in faq_intents():
        for language in ("zh-CN", "en"):
            assert (intent.id, language) in covered, (intent.id, language)
    assert all(c.intent is None or c.intent in load_intents() for _, c in entries)
    general = {key.rsplit(".", 1)[0] for key, c in entries if c.intent is None}
    assert len(general) >= 20
    for key, content in entries:
        assert 4 <= len(content.similar_questions) <= 6, key
        assert "95xxx" in content.answer or len(content.answer) > 80, key
    assert len({key for key, _ in entries}) == len(entries)


async def test_demo_bank_publishes_the_knowledge_base(demo_session, demo_bank):
    if demo_bank.counts:
        assert demo_bank.counts["faq_entries"] == len(demo_entries())
    total = await demo_session.scalar(select(func.count()).select_from(KnowledgeEntry))
    live = await demo_session.scalar(
        select(func.count()).select_from(KnowledgeVersion).where(KnowledgeVersion.status == "published")
    )
    assert total == live == len(demo_entries())
    for intent in faq_intents():
        for language in ("zh-CN", "en"):
            hit = await service.get_published_answer(
                session=demo_session, intent=intent.id, language=language, channel="webchat"
            )
            assert hit is not None and hit.key == f"{intent.id}.{language}", (intent.id, language)
    result = await service.search(
        session=demo_session, query="新办的信用卡怎么开卡", language="zh-CN", channel="app"
    )
    assert (
        result.decision == "answer" and result.top is not None and result.top.key == "card_activation.zh-CN"
    )
    wechat_only = await service.search(
        session=demo_session, query="公众号怎么绑定银行卡", language="zh-CN", channel="wechat"
    )
    assert "wechat_banking_binding.zh-CN" in [h.key for h in wechat_only.hits]
    web = await service.search(
        session=demo_session, query="公众号怎么绑定银行卡", language="zh-CN", channel="webchat"
    )
    assert "wechat_banking_binding.zh-CN" not in [h.key for h in web.hits]


async def test_loading_again_adds_nothing(demo_db):
    from lingxi.core.actor import Actor
    from lingxi.demo.knowledge import load_demo_knowledge

    async with demo_db.sessionmaker() as session:
        assert await load_demo_knowledge(session=session, actor=Actor.system("demo-loader")) == {
            "faq_entries": 0
        }
