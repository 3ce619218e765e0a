"""A customer asks for a person on the H5 chat; an agent accepts in the workspace and replies.

Drives the built web app (web/dist) served by the real server in headless Chromium, and leaves a
screenshot of each page in LINGXI_E2E_SCREENSHOTS (default /tmp).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from lingxi.identity.app_tokens import issue_demo_app_token
from tests.e2e.pages import context as _context
from tests.e2e.pages import message as _message
from tests.e2e.pages import staff_login as _staff_login
from tests.e2e.pages import watch_errors as _watch_errors

pytestmark = pytest.mark.e2e

QUESTION = "我的信用卡账单有问题，转人工"
REPLY = "您好，我是客服，请问有什么可以帮您？"


async def test_customer_reaches_an_agent(
    browser: Browser, server_url: str, make_staff: Any, make_customer: Any, screenshot_dir: Path
) -> None:
    customer = await make_customer(name="王小明")
    await make_staff("agent", username="agent_e2e", password="Passw0rd!", display_name="小张")
    await make_staff("admin", username="admin_e2e", password="Passw0rd!", display_name="管理员老李")
    errors: list[str] = []

    # --- the customer, on a phone-sized screen, identified by the bank app's login token ----------
    phone = await _context(browser, viewport={"width": 375, "height": 720}, is_mobile=True, has_touch=True)
    cpage = await phone.new_page()
    _watch_errors(cpage, errors)
    await cpage.goto(f"{server_url}/chat/?app_token={issue_demo_app_token(customer.customer_no)}")
    await expect(cpage.get_by_test_id("verification-badge")).to_have_attribute("data-level", "L1")
    assert "app_token" not in cpage.url  # the login token does not stay in the address bar

    await cpage.get_by_test_id("chat-input").fill(QUESTION)
    await cpage.get_by_test_id("chat-send").click()
    mine = _message(cpage, "customer", QUESTION)
    await expect(mine).to_be_visible()
    await expect(mine).not_to_have_attribute("data-pending", "true")  # the server's ack replaced it
    await expect(cpage.locator('[data-testid="message"][data-sender-type="bot"]').first).to_be_visible()
    await expect(cpage.get_by_test_id("chat-status")).to_have_attribute("data-status", "queued")

    # --- the agent logs in, finds the waiting conversation, accepts it and replies ---------------
    desk = await _context(browser, viewport={"width": 1440, "height": 900})
    apage = await desk.new_page()
    _watch_errors(apage, errors)
    await _staff_login(apage, f"{server_url}/agent/", "agent_e2e")
    await apage.get_by_test_id("scope-queued").click()
    item = apage.get_by_test_id("conversation-item").first
    await expect(item).to_have_attribute("data-status", "queued")
    await item.click()
    await expect(_message(apage, "customer", QUESTION)).to_be_visible()
    await apage.get_by_test_id("accept-button").click()
    await expect(apage.get_by_test_id("chat-pane")).to_have_attribute("data-status", "assigned")

    await apage.get_by_test_id("agent-input").fill(REPLY)
    await apage.get_by_test_id("agent-send").click()
    sent = _message(apage, "agent", REPLY)
    await expect(sent).to_be_visible()
    await expect(sent).not_to_have_attribute("data-pending", "true")

    # --- the customer sees the reply live, from a named agent ---------------------------------
    reply = _message(cpage, "agent", REPLY)
    await expect(reply).to_be_visible()
    await expect(reply.get_by_test_id("message-sender")).to_have_text("小张")
    await expect(cpage.get_by_test_id("chat-status")).to_have_attribute("data-status", "assigned")
    await expect(cpage.get_by_test_id("chat-status")).to_contain_text("小张")

    # --- the agent's customer 360 and history panel loaded for this customer -------------------
    await expect(apage.get_by_test_id("customer-360")).to_be_visible()
    await expect(apage.get_by_test_id("masked-phone")).to_contain_text("****")

    # --- the console: an administrator sees the menu their permissions allow -------------------
    office = await _context(browser, viewport={"width": 1280, "height": 800})
    opage = await office.new_page()
    _watch_errors(opage, errors)
    await _staff_login(opage, f"{server_url}/console/", "admin_e2e")
    await expect(opage.get_by_test_id("menu-staff")).to_be_visible()
    await expect(opage.get_by_test_id("menu-inbox")).to_be_visible()
    await expect(opage.get_by_test_id("menu-audit")).to_have_count(0)  # admins do not read the audit log
    await opage.get_by_test_id("menu-staff").click()
    await expect(opage.get_by_test_id("console-staff")).to_contain_text("agent_e2e")

    await cpage.screenshot(path=screenshot_dir / "lingxi-e2e-customer.png")
    await apage.screenshot(path=screenshot_dir / "lingxi-e2e-agent.png")
    await opage.screenshot(path=screenshot_dir / "lingxi-e2e-console.png")
    for context in (phone, desk, office):
        await context.close()
    assert errors == []


async def test_chat_works_over_rest_when_the_websocket_is_blocked(
    browser: Browser, server_url: str, make_staff: Any, make_customer: Any
) -> None:
    """A proxy that refuses WebSockets: the page sends over REST and polls for the agent's reply."""
    customer = await make_customer(name="李芳芳")
    _, staff_token = await make_staff("agent", username="agent_rest", display_name="小王")
    errors: list[str] = []
    phone = await _context(browser, viewport={"width": 375, "height": 720}, is_mobile=True, has_touch=True)
    page = await phone.new_page()
    _watch_errors(page, errors)
    await page.route_web_socket("**/api/chat/ws**", lambda ws: ws.close())

    await page.goto(f"{server_url}/chat/?app_token={issue_demo_app_token(customer.customer_no)}")
    await expect(page.get_by_test_id("connection-state")).to_be_visible()
    await page.get_by_test_id("chat-input").fill(QUESTION)
    await page.get_by_test_id("chat-send").click()
    await expect(_message(page, "customer", QUESTION)).not_to_have_attribute("data-pending", "true")
    await expect(page.locator('[data-testid="message"][data-sender-type="bot"]').first).to_be_visible()

    auth = {"Authorization": f"Bearer {staff_token}"}
    async with httpx.AsyncClient(base_url=server_url, headers=auth) as agent:
        queued = (await agent.get("/api/agent/conversations", params={"scope": "queued"})).json()["items"]
        assert len(queued) == 1
        conversation_id = queued[0]["id"]
        assert (await agent.post(f"/api/agent/conversations/{conversation_id}/accept")).status_code == 200
        reply = {"client_msg_id": "c-e2e-rest", "text": REPLY}
        r = await agent.post(f"/api/agent/conversations/{conversation_id}/messages", json=reply)
        assert r.status_code == 200, r.text

    await expect(_message(page, "agent", REPLY)).to_be_visible()
    await expect(page.get_by_test_id("chat-status")).to_contain_text("小王")
    await phone.close()
    assert errors == []
