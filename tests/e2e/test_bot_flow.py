"""The bot on the H5 page: a balance card, card loss with a one-time code and quick-reply buttons,
then a hand-off that shows the agent the bot's summary.

Drives the built web app in headless Chromium against the real server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from lingxi.core.db import Database
from lingxi.core.outbound import list_outbound
from lingxi.identity.app_tokens import issue_demo_app_token
from tests.banking_fixtures import Banked
from tests.e2e.pages import context, message, staff_login, watch_errors

pytestmark = pytest.mark.e2e


async def _last_code(db: Database, phone: str) -> str:
    async with db.sessionmaker() as s:
        [sms] = await list_outbound(s, adapter="sms", recipient=phone, limit=1)
    match = re.search(r"验证码为(\d{6})", sms.content)
    assert match
    return match.group(1)


async def test_bot_serves_then_hands_over_with_context(
    browser: Browser, server_url: str, db: Database, banked: Banked, make_staff: Any, screenshot_dir: Path
) -> None:
    await make_staff("agent", username="agent_bot_e2e", password="Passw0rd!", display_name="小周")
    errors: list[str] = []
    phone = await context(browser, viewport={"width": 375, "height": 720}, is_mobile=True, has_touch=True)
    page = await phone.new_page()
    watch_errors(page, errors)
    await page.goto(f"{server_url}/chat/?app_token={issue_demo_app_token(banked.customer.customer_no)}")
    await expect(page.get_by_test_id("verification-badge")).to_have_attribute("data-level", "L1")

    async def say(text: str) -> None:
        await page.get_by_test_id("chat-input").fill(text)
        await page.get_by_test_id("chat-send").click()

    # A balance card, account numbers masked.
    await say("我卡里还有多少钱")
    card = page.locator('[data-testid="message-card"][data-card-type="balance"]')
    await expect(card).to_be_visible()
    await expect(card).to_contain_text("12,345.67")
    assert banked.current_account not in await card.inner_text()

    # Card loss: step-up by SMS code typed into the chat, then the choices are buttons.
    await say("我的银行卡丢了")
    await expect(page.get_by_test_id("code-hint").last).to_be_visible()
    await say(await _last_code(db, banked.customer.phone))
    await expect(message(page, "bot", "身份验证通过")).to_be_visible()
    await page.locator(".lx-msg__option", has_text="尾号1234").last.click()
    await expect(message(page, "bot", "确认立即挂失")).to_be_visible()
    await page.locator(".lx-msg__option", has_text="确认").last.click()
    await expect(message(page, "bot", "已为您挂失")).to_be_visible()
    await page.locator(".lx-msg__option", has_text="否").last.click()
    await expect(message(page, "bot", "还有什么可以帮您").last).to_be_visible()
    await expect(message(page, "customer", "******")).to_be_visible()  # the code is not kept
    await page.screenshot(path=str(screenshot_dir / "lingxi-bot-h5.png"), full_page=True)

    # A person, with the bot's context.
    await say("查下信用卡账单")
    await expect(message(page, "bot", "哪张信用卡")).to_be_visible()
    await say("转人工")
    await expect(page.get_by_test_id("chat-status")).to_have_attribute("data-status", "queued")

    desk = await context(browser, viewport={"width": 1440, "height": 900})
    agent = await desk.new_page()
    watch_errors(agent, errors)
    await staff_login(agent, f"{server_url}/agent/", "agent_bot_e2e")
    await agent.get_by_test_id("scope-queued").click()
    await agent.get_by_test_id("conversation-item").first.click()
    brief = agent.get_by_test_id("handoff-summary")
    await expect(brief).to_contain_text("账单查询")
    await expect(brief).to_contain_text("L2")
    await expect(agent.get_by_test_id("customer-360")).to_contain_text("陈*远")
    await agent.screenshot(path=str(screenshot_dir / "lingxi-bot-handoff.png"))
    assert errors == []
