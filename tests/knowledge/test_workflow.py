"""Entries and their review workflow over the API: versions, four-eyes, invalid transitions, concurrency."""

from __future__ import annotations

from sqlalchemy import select

from lingxi.knowledge.models import KnowledgeState
from tests.auth.helpers import audit_rows, bearer
from tests.knowledge.helpers import act, content, create, error_code, publish


async def test_create_gives_a_draft_version_one(api, editors, db):
    author, _ = editors
    entry = await create(api, author, key="debit.card.replace", intent="card_activation")
    assert entry["key"] == "debit.card.replace"
    assert entry["status"] == "draft" and entry["head_version"] == 1 and entry["live_version"] is None
    assert entry["revision"] == 1 and entry["author_name"] == "知识编辑甲"
    [version] = entry["versions"]
    assert version["status"] == "draft" and version["intent"] == "card_activation"
    assert version["similar_questions"] == ["挂失以后补卡要几天", "补办的卡什么时候能拿到"]
    assert version["answer_text"].startswith("挂失后可在任一网点当场补办")
    [row] = await audit_rows(db, "knowledge.create")
    assert row.subject_id == str(entry["id"]) and row.after["key"] == "debit.card.replace"


async def test_generated_key_and_taken_key(api, editors):
    author, _ = editors
    entry = await create(api, author)
    assert entry["key"].startswith("kb-")
    r = await api.post(
        "/api/knowledge/entries", json={**content(), "key": entry["key"]}, headers=bearer(author)
    )
    assert r.status_code == 409 and error_code(r) == "key_taken"


async def test_content_is_validated(api, editors):
    author, _ = editors
    cases = [
        ({"intent": "no_such_intent"}, "intent"),
        ({"standard_question": "   "}, "standard_question"),
        ({"channels": ["fax"]}, "channels.0"),
        ({"language": "fr"}, "language"),
        ({"valid_from": "2027-02-01", "valid_to": "2027-01-01"}, ""),
        ({"key": "has space"}, "key"),
        ({"similar_questions": ["x" * 201]}, "similar_questions.0"),
        ({"unexpected": 1}, "unexpected"),
    ]
    for overrides, field in cases:
        r = await api.post("/api/knowledge/entries", json=content(**overrides), headers=bearer(author))
        assert r.status_code == 422, (overrides, r.text)
        assert error_code(r) == "validation_failed"
        assert any(d["field"] == field for d in r.json()["error"]["details"]), (field, r.json())


async def test_similar_questions_are_cleaned(api, editors):
    author, _ = editors
    entry = await create(
        api,
        author,
        standard_question="怎么补卡",
        similar_questions=["  补卡要几天 ", "补卡要几天", "怎么补卡", "", "补卡   流程"],
    )
    assert entry["versions"][0]["similar_questions"] == ["补卡要几天", "补卡 流程"]


async def test_submit_and_approve_by_another_admin_publishes(api, editors, db):
    author, reviewer = editors
    entry = await create(api, author)
    r = await act(api, author, entry, "submit")
    assert r.status_code == 200, r.text
    submitted = r.json()
    assert submitted["status"] == "in_review" and submitted["revision"] == 2
    assert submitted["can_review"] is False  # the author sees it, but may not review it
    r = await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(reviewer))
    assert r.json()["can_review"] is True and r.headers["etag"] == '"2"'
    r = await act(api, reviewer, submitted, "approve", comment="内容准确")
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["status"] == "published" and published["live_version"] == 1
    version = published["versions"][0]
    assert version["reviewer_name"] == "知识审核乙" and version["review_outcome"] == "approved"
    assert version["published_at"] is not None and version["review_comment"] == "内容准确"
    async with db.sessionmaker() as s:
        state = await s.scalar(select(KnowledgeState))
        assert state is not None and state.revision == 1 and len(state.stamp) == 32
    assert [r.action for r in await audit_rows(db, subject_type="knowledge_entry")] == [
        "knowledge.create",
        "knowledge.submit",
        "knowledge.approve",
    ]


async def test_four_eyes_author_cannot_approve_or_reject(api, editors):
    author, _ = editors
    entry = await create(api, author)
    submitted = (await act(api, author, entry, "submit")).json()
    for action, body in (("approve", {}), ("reject", {"comment": "自己驳回"})):
        r = await act(api, author, submitted, action, **body)
        assert r.status_code == 403 and error_code(r) == "four_eyes", r.text
    r = await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))
    assert r.json()["status"] == "in_review"


async def test_whoever_edited_the_draft_cannot_approve_it(api, editors, make_staff):
    author, reviewer = editors
    _, third = await make_staff("knowledge_admin", username="kb_third")
    entry = await create(api, author)
    r = await api.put(
        f"/api/knowledge/entries/{entry['id']}/draft",
        json={**content(answer="<p>补卡当场可取。</p>"), "revision": entry["revision"]},
        headers=bearer(reviewer),
    )
    assert r.status_code == 200, r.text
    submitted = (await act(api, author, r.json(), "submit")).json()
    r = await act(api, reviewer, submitted, "approve")
    assert r.status_code == 403 and error_code(r) == "four_eyes"
    r = await act(api, third, submitted, "approve")
    assert r.status_code == 200, r.text


async def test_reject_sends_back_to_draft_with_the_comment(api, editors, db):
    author, reviewer = editors
    entry = await create(api, author)
    submitted = (await act(api, author, entry, "submit")).json()
    r = await act(api, reviewer, submitted, "reject", comment="   ")
    assert r.status_code == 422 and error_code(r) == "validation_failed"
    r = await act(api, reviewer, submitted, "reject")
    assert r.status_code == 422  # a comment is required
    r = await act(api, reviewer, submitted, "reject", comment="请补充邮寄补卡的费用")
    assert r.status_code == 200, r.text
    rejected = r.json()
    version = rejected["versions"][0]
    assert rejected["status"] == "draft" and rejected["live_version"] is None
    assert version["review_outcome"] == "rejected" and version["review_comment"] == "请补充邮寄补卡的费用"
    # The author edits and submits again; the same reviewer approves now.
    r = await api.put(
        f"/api/knowledge/entries/{entry['id']}/draft",
        json={**content(answer="<p>邮寄补卡免费。</p>"), "revision": rejected["revision"]},
        headers=bearer(author),
    )
    assert r.status_code == 200 and r.json()["versions"][0]["number"] == 1
    submitted = (await act(api, author, r.json(), "submit")).json()
    assert (await act(api, reviewer, submitted, "approve")).status_code == 200
    [row] = await audit_rows(db, "knowledge.reject")
    assert row.reason == "请补充邮寄补卡的费用"


async def test_invalid_transitions_are_409(api, editors):
    author, reviewer = editors
    entry = await create(api, author)
    for action, body in (("approve", {}), ("reject", {"comment": "x"}), ("withdraw", {"reason": "x"})):
        r = await act(api, reviewer, entry, action, **body)
        assert r.status_code == 409 and error_code(r) == "invalid_transition", (action, r.text)
        entry = (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))).json()
    submitted = (await act(api, author, entry, "submit")).json()
    r = await act(api, author, submitted, "submit")
    assert r.status_code == 409 and error_code(r) == "invalid_transition"
    assert r.json()["error"]["details"] == {"status": "in_review", "needed": "draft", "action": "submit"}
    current = (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))).json()
    r = await api.put(
        f"/api/knowledge/entries/{entry['id']}/draft",
        json={**content(), "revision": current["revision"]},
        headers=bearer(author),
    )
    assert r.status_code == 409 and error_code(r) == "in_review"


async def test_a_new_version_supersedes_the_published_one(api, editors, db):
    author, reviewer = editors
    entry = await publish(api, author, reviewer, standard_question="借记卡补卡要多久？")
    r = await api.put(
        f"/api/knowledge/entries/{entry['id']}/draft",
        json={**content(standard_question="借记卡补卡要多长时间？"), "revision": entry["revision"]},
        headers=bearer(author),
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    # Version 2 is a draft; version 1 stays live meanwhile.
    assert edited["head_version"] == 2 and edited["live_version"] == 1 and edited["status"] == "draft"
    assert [v["status"] for v in edited["versions"]] == ["draft", "published"]
    r = await api.get("/api/knowledge/entries", params={"status": "published"}, headers=bearer(author))
    assert [e["id"] for e in r.json()["items"]] == [entry["id"]]
    submitted = (await act(api, author, edited, "submit")).json()
    approved = (await act(api, reviewer, submitted, "approve")).json()
    assert approved["live_version"] == 2 and approved["standard_question"] == "借记卡补卡要多长时间？"
    v2, v1 = approved["versions"]
    assert v2["status"] == "published"
    assert v1["status"] == "archived" and v1["archive_reason"] == "superseded"
    row = (await audit_rows(db, "knowledge.approve", subject_id=str(entry["id"])))[-1]
    assert row.before == {"live_version": 1}


async def test_withdraw_takes_the_answer_offline(api, editors, db):
    author, reviewer = editors
    entry = await publish(api, author, reviewer)
    r = await act(api, author, entry, "withdraw")
    assert r.status_code == 422  # a reason is required
    r = await act(api, author, entry, "withdraw", reason="政策调整，暂停提供")
    assert r.status_code == 200, r.text
    withdrawn = r.json()
    assert withdrawn["live_version"] is None and withdrawn["status"] == "archived"
    version = withdrawn["versions"][0]
    assert version["archive_reason"] == "withdrawn" and version["archive_note"] == "政策调整，暂停提供"
    async with db.sessionmaker() as s:
        assert (await s.scalar(select(KnowledgeState.revision))) == 2  # publish + withdraw
    # Editing an archived entry starts version 2 as a draft.
    r = await api.put(
        f"/api/knowledge/entries/{entry['id']}/draft",
        json={**content(), "revision": withdrawn["revision"]},
        headers=bearer(author),
    )
    assert r.json()["head_version"] == 2 and r.json()["status"] == "draft"


async def test_stale_revision_is_409(api, editors):
    author, reviewer = editors
    entry = await create(api, author)
    first = await api.put(
        f"/api/knowledge/entries/{entry['id']}/draft",
        json={**content(answer="<p>第一位编辑</p>"), "revision": 1},
        headers=bearer(author),
    )
    assert first.status_code == 200 and first.json()["revision"] == 2
    second = await api.put(
        f"/api/knowledge/entries/{entry['id']}/draft",
        json={**content(answer="<p>第二位编辑，基于旧版本</p>"), "revision": 1},
        headers=bearer(reviewer),
    )
    assert second.status_code == 409 and error_code(second) == "stale_revision"
    assert second.json()["error"]["details"] == {"current_revision": 2, "your_revision": 1}
    r = await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))
    assert r.json()["versions"][0]["answer_html"] == "<p>第一位编辑</p>"
    r = await act(api, author, entry, "submit")  # entry still holds revision 1
    assert r.status_code == 409 and error_code(r) == "stale_revision"


async def test_unknown_entry_is_404(api, editors):
    author, _ = editors
    r = await api.get("/api/knowledge/entries/424242", headers=bearer(author))
    assert r.status_code == 404 and error_code(r) == "knowledge_entry_not_found"
    r = await api.post("/api/knowledge/entries/424242/submit", json={"revision": 1}, headers=bearer(author))
    assert r.status_code == 404


async def test_list_filters_and_pages(api, editors, make_staff):
    author, reviewer = editors
    _, agent = await make_staff("agent")
    await publish(
        api, author, reviewer, category="信用卡", intent="annual_fee", standard_question="年费怎么免"
    )
    await create(api, author, category="信用卡", standard_question="积分怎么兑换")
    await create(api, author, category="账户", language="en", standard_question="How to close an account")
    for n in range(3):
        await create(api, author, category="网点", standard_question=f"网点问题 {n}")

    async def listing(**params):
        r = await api.get("/api/knowledge/entries", params=params, headers=bearer(agent))
        assert r.status_code == 200, r.text
        return r.json()

    assert (await listing())["total"] == 6
    assert [e["standard_question"] for e in (await listing(category="信用卡"))["items"]] == [
        "积分怎么兑换",
        "年费怎么免",
    ]
    assert (await listing(status="published"))["total"] == 1
    assert (await listing(status="draft"))["total"] == 5
    assert (await listing(status="in_review"))["total"] == 0
    assert (await listing(language="en"))["items"][0]["standard_question"] == "How to close an account"
    assert (await listing(intent="annual_fee"))["total"] == 1
    assert (await listing(q="积分"))["total"] == 1
    assert (await listing(q="CLOSE"))["total"] == 1  # case-insensitive
    page = await listing(page=2, page_size=4)
    assert page["total"] == 6 and len(page["items"]) == 2 and page["page"] == 2
    r = await api.get("/api/knowledge/entries", params={"status": "gone"}, headers=bearer(agent))
    assert r.status_code == 422


async def test_agents_read_but_do_not_write(api, editors, make_staff):
    author, _ = editors
    _, agent = await make_staff("agent")
    entry = await create(api, author)
    assert (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(agent))).status_code == 200
    r = await api.post("/api/knowledge/entries", json=content(), headers=bearer(agent))
    assert r.status_code == 403 and error_code(r) == "forbidden"
    r = await act(api, agent, entry, "submit")
    assert r.status_code == 403


async def test_meta_lists_intents_and_categories(api, editors):
    author, _ = editors
    await create(api, author, category="信用卡")
    r = await api.get("/api/knowledge/meta", headers=bearer(author))
    meta = r.json()
    assert meta["categories"] == ["信用卡"] and meta["languages"] == ["zh-CN", "en"]
    assert meta["channels"] == ["webchat", "app", "wechat", "sms", "ivr"]
    intents = {i["id"]: i for i in meta["intents"]}
    assert (
        len(intents) == 48
        and intents["annual_fee"]["zh"] == "年费"
        and intents["annual_fee"]["kind"] == "faq"
    )
