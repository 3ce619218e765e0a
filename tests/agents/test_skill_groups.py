"""Skill groups and agents' skills: any staff reads the groups; administrators change them (audited)."""

from __future__ import annotations

from tests.auth.helpers import audit_rows, bearer

CARDS = {
    "code": "credit_card",
    "name_zh": "信用卡",
    "name_en": "Credit cards",
    "description": "账单、分期、额度",
}
LOANS = {"code": "loans", "name_zh": "个人贷款", "name_en": "Personal loans"}


async def create_group(api, token, body):
    r = await api.post("/api/admin/skill-groups", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_and_list_skill_groups(api, make_staff, db):
    admin, admin_token = await make_staff("admin")
    _, agent_token = await make_staff("agent")
    _, auditor_token = await make_staff("auditor")
    created = await create_group(api, admin_token, CARDS)
    await create_group(api, admin_token, LOANS)
    assert created["code"] == "credit_card" and created["name_zh"] == "信用卡"
    for token in (agent_token, auditor_token):
        r = await api.get("/api/agents/skill-groups", headers=bearer(token))
        assert r.status_code == 200
        assert [g["code"] for g in r.json()["items"]] == ["credit_card", "loans"]
    assert (await api.get("/api/agents/skill-groups")).status_code == 401
    (row,) = await audit_rows(db, "skill_group.create", subject_id=str(created["id"]))
    assert (
        row.actor_id == str(admin.id) and row.after["group_code"] == "credit_card"
    )  # "code" would be masked as an OTP


async def test_skill_group_validation(api, make_staff):
    _, admin_token = await make_staff("admin")
    _, agent_token = await make_staff("agent")
    await create_group(api, admin_token, CARDS)
    r = await api.post("/api/admin/skill-groups", json=CARDS, headers=bearer(admin_token))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "skill_group_exists")
    r = await api.post(
        "/api/admin/skill-groups", json={**CARDS, "code": "Credit Card"}, headers=bearer(admin_token)
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "code"
    r = await api.post("/api/admin/skill-groups", json=LOANS, headers=bearer(agent_token))
    assert r.status_code == 403


async def test_set_agent_skills_replaces_and_audits(api, make_staff, db):
    admin, token = await make_staff("admin")
    agent, _ = await make_staff("agent")
    await create_group(api, token, CARDS)
    await create_group(api, token, LOANS)
    url = f"/api/admin/staff/{agent.id}/skills"
    r = await api.put(
        url,
        json=[
            {"skill_group_code": "credit_card", "proficiency": 5},
            {"skill_group_code": "loans", "proficiency": 2},
        ],
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "staff_id": agent.id,
        "items": [
            {
                "skill_group_code": "credit_card",
                "name_zh": "信用卡",
                "name_en": "Credit cards",
                "proficiency": 5,
            },
            {
                "skill_group_code": "loans",
                "name_zh": "个人贷款",
                "name_en": "Personal loans",
                "proficiency": 2,
            },
        ],
    }
    r = await api.put(url, json=[{"skill_group_code": "loans", "proficiency": 4}], headers=bearer(token))
    assert [(s["skill_group_code"], s["proficiency"]) for s in r.json()["items"]] == [("loans", 4)]
    got = await api.get(url, headers=bearer(token))
    assert got.json() == r.json()
    rows = await audit_rows(db, "staff.set_skills", subject_id=str(agent.id))
    assert [(row.before, row.after) for row in rows] == [
        ({"skills": {}}, {"skills": {"credit_card": 5, "loans": 2}}),
        ({"skills": {"credit_card": 5, "loans": 2}}, {"skills": {"loans": 4}}),
    ]
    assert rows[0].actor_id == str(admin.id)
    # The same set again: no change, no audit row. An empty list removes every skill.
    await api.put(url, json=[{"skill_group_code": "loans", "proficiency": 4}], headers=bearer(token))
    assert len(await audit_rows(db, "staff.set_skills")) == 2
    r = await api.put(url, json=[], headers=bearer(token))
    assert r.status_code == 200 and r.json()["items"] == []


async def test_set_agent_skills_validation(api, make_staff):
    _, token = await make_staff("admin")
    agent, _ = await make_staff("agent")
    await create_group(api, token, CARDS)
    url = f"/api/admin/staff/{agent.id}/skills"
    r = await api.put(url, json=[{"skill_group_code": "forex", "proficiency": 3}], headers=bearer(token))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "unknown_skill_group")
    assert "forex" in r.json()["error"]["message"]
    twice = [{"skill_group_code": "credit_card", "proficiency": 3}] * 2
    r = await api.put(url, json=twice, headers=bearer(token))
    assert r.status_code == 422 and "credit_card" in r.json()["error"]["message"]
    r = await api.put(
        url, json=[{"skill_group_code": "credit_card", "proficiency": 6}], headers=bearer(token)
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "0.proficiency"
    r = await api.put(url, json={"skill_group_code": "credit_card"}, headers=bearer(token))
    assert r.status_code == 422
    r = await api.put("/api/admin/staff/999999/skills", json=[], headers=bearer(token))
    assert r.status_code == 404
