"""Two agents and a supervisor handle a queue of three customers, in headless Chromium.

The customers ask for a person on the H5 chat and wait (their place and the estimated wait show);
the supervisor watches the wallboard; agents going online get chats pushed by the router, one at a
time (capacity 1); the supervisor monitors a chat and whispers to the agent; an agent closes a chat
and records the wrap-up, which brings the next customer; the customer rates the service; the
supervisor takes over the other agent's chat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from lingxi.agents.models import AgentSkill, SkillGroup
from lingxi.core.db import Database
from lingxi.identity.app_tokens import issue_demo_app_token
from tests.e2e.pages import context as _context
from tests.e2e.pages import message as _message
from tests.e2e.pages import staff_login as _staff_login
from tests.e2e.pages import watch_errors as _watch_errors

pytestmark = pytest.mark.e2e


async def _customer_waits(browser: Browser, server_url: str, customer: Any, errors: list[str]) -> Page:
    phone = await _context(browser, viewport={"width": 375, "height": 720}, is_mobile=True, has_touch=True)
    page = await phone.new_page()
    _watch_errors(page, errors)
    await page.goto(f"{server_url}/chat/?app_token={issue_demo_app_token(customer.customer_no)}")
    await expect(page.get_by_test_id("verification-badge")).to_have_attribute("data-level", "L1")
    await page.get_by_test_id("chat-input").fill("我要转人工")
    await page.get_by_test_id("chat-send").click()
    await expect(page.get_by_test_id("chat-status")).to_have_attribute("data-status", "queued")
    await expect(page.get_by_test_id("queue-bar")).to_be_visible()
    return page


async def _agent_desk(browser: Browser, server_url: str, username: str, errors: list[str]) -> Page:
    desk = await _context(browser, viewport={"width": 1440, "height": 900})
    page = await desk.new_page()
    _watch_errors(page, errors)
    await _staff_login(page, f"{server_url}/agent/", username)
    await expect(page.get_by_test_id("presence-switch")).to_have_attribute("data-presence", "offline")
    return page


async def _go_online(page: Page) -> None:
    await page.get_by_test_id("presence-switch").click()
    await page.get_by_test_id("presence-online").click()
    await expect(page.get_by_test_id("presence-switch")).to_have_attribute("data-presence", "online")


async def test_two_agents_and_a_supervisor_handle_a_queue(
    browser: Browser,
    server_url: str,
    db: Database,
    make_staff: Any,
    make_customer: Any,
    screenshot_dir: Path,
) -> None:
    errors: list[str] = []
    zhang, _ = await make_staff("agent", username="zhang_e2e", display_name="张晓雯", max_concurrent_chats=1)
    li, _ = await make_staff("agent", username="li_e2e", display_name="李俊杰", max_concurrent_chats=1)
    await make_staff("supervisor", username="boss_e2e", display_name="王主管")
    async with db.sessionmaker() as session:
        group = SkillGroup(code="general", name_zh="综合业务", name_en="General service")
        session.add(group)
        await session.flush()
        session.add_all(
            AgentSkill(agent_id=a.id, skill_group_id=group.id, proficiency=4) for a in (zhang, li)
        )
        await session.commit()

    # --- three customers ask for a person; nobody is online yet -------------------------------------
    first = await _customer_waits(browser, server_url, await make_customer(name="周晓琳", gender="F"), errors)
    second = await _customer_waits(
        browser, server_url, await make_customer(name="陈国强", gender="M"), errors
    )
    third = await _customer_waits(browser, server_url, await make_customer(name="林美华", gender="F"), errors)
    await expect(third.get_by_test_id("chat-status")).to_contain_text("前面还有 2 位")
    await expect(third.get_by_test_id("queue-wait")).to_contain_text("客服正忙")  # no agent online: no guess

    # --- the supervisor's wallboard shows the queue live ------------------------------------------------
    office = await _context(browser, viewport={"width": 1440, "height": 900})
    boss = await office.new_page()
    _watch_errors(boss, errors)
    await _staff_login(boss, f"{server_url}/console/", "boss_e2e")
    await boss.get_by_test_id("menu-wallboard").click()
    await expect(boss.get_by_test_id("wallboard-live")).to_have_text("实时")
    await expect(boss.get_by_test_id("kpi-waiting")).to_contain_text("3")

    # --- 张晓雯 goes online and gets the first customer pushed ----------------------------------------
    zpage = await _agent_desk(browser, server_url, "zhang_e2e", errors)
    await _go_online(zpage)
    await expect(zpage.get_by_test_id("chat-tab")).to_have_count(1)
    await expect(zpage.get_by_test_id("chat-pane")).to_have_attribute("data-status", "assigned")
    await expect(zpage.get_by_test_id("chat-pane")).to_contain_text("周*琳")
    await expect(zpage.get_by_test_id("presence-load")).to_have_text("1/1")
    await zpage.get_by_test_id("agent-input").fill("周女士您好，我是张晓雯，请问有什么可以帮您？")
    await zpage.get_by_test_id("agent-send").click()
    await expect(_message(first, "agent", "我是张晓雯")).to_be_visible()
    await expect(first.get_by_test_id("chat-status")).to_have_attribute("data-status", "assigned")
    # The others moved up.
    await expect(third.get_by_test_id("chat-status")).to_contain_text("前面还有 1 位")

    # --- 李俊杰 goes online and gets the second -----------------------------------------------------------
    lpage = await _agent_desk(browser, server_url, "li_e2e", errors)
    await _go_online(lpage)
    await expect(lpage.get_by_test_id("chat-pane")).to_contain_text("陈*强")
    await expect(second.get_by_test_id("chat-status")).to_contain_text("李俊杰")
    await expect(third.get_by_test_id("chat-status")).to_contain_text("下一位就是您")
    await expect(boss.get_by_test_id("kpi-waiting")).to_contain_text("1")
    await expect(boss.get_by_test_id("state-full")).to_contain_text("2")

    # --- the supervisor monitors 张晓雯's chat and whispers ----------------------------------------------
    await boss.get_by_test_id("monitor-button").first.wait_for()
    rows = boss.get_by_test_id("wallboard-active").locator("tr", has_text="张晓雯")
    await rows.get_by_test_id("monitor-button").click()
    drawer = boss.get_by_test_id("monitor-drawer")
    await expect(drawer.get_by_test_id("monitor-agent")).to_have_text("张晓雯")
    await expect(_message(boss, "agent", "我是张晓雯")).to_be_visible()
    await drawer.get_by_test_id("whisper-input").fill("先核实客户身份再办理")
    await drawer.get_by_test_id("whisper-send").click()
    await expect(zpage.locator('[data-testid="note"][data-kind="whisper"]')).to_contain_text(
        "先核实客户身份再办理"
    )
    await expect(_message(first, "system", "先核实")).to_have_count(0)  # the customer never sees it
    await boss.keyboard.press("Escape")

    # --- 张晓雯 closes the chat, records the wrap-up, and the third customer comes -----------------------
    await zpage.get_by_test_id("close-button").click()
    await zpage.locator(".el-message-box").get_by_role("button", name="结束").click()
    dialog = zpage.get_by_test_id("wrap-up-dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_test_id("wrap-up-code").click()
    await zpage.locator(".el-select-dropdown__item", has_text="问题已解决").click()
    await dialog.get_by_test_id("wrap-up-submit").click()
    await expect(zpage.get_by_test_id("chat-pane")).to_contain_text("林*华")
    await expect(third.get_by_test_id("chat-status")).to_contain_text("张晓雯")

    # The first customer rates the service.
    await expect(first.get_by_test_id("survey")).to_be_visible()
    await first.get_by_test_id("survey-rate").locator(".el-rate__item").nth(4).click()
    await first.get_by_test_id("survey-submit").click()
    await expect(first.get_by_test_id("survey")).to_have_count(0)

    # --- the supervisor takes over 李俊杰's chat -------------------------------------------------------
    rows = boss.get_by_test_id("wallboard-active").locator("tr", has_text="李俊杰")
    await rows.get_by_test_id("monitor-button").click()
    await drawer.get_by_test_id("take-over").click()
    await boss.locator(".el-message-box").get_by_role("button", name="接管").click()
    await expect(drawer.get_by_test_id("monitor-agent")).to_have_text("王主管")
    await expect(_message(second, "system", "主管 王主管 已接入")).to_be_visible()
    await expect(lpage.get_by_test_id("chat-tab")).to_have_count(0)
    await boss.keyboard.press("Escape")
    await expect(boss.get_by_test_id("kpi-waiting")).to_contain_text("0")
    await expect(boss.get_by_test_id("kpi-sl")).not_to_contain_text("—")

    for name, page in (("customer", first), ("agent", zpage), ("wallboard", boss)):
        await page.screenshot(path=screenshot_dir / f"lingxi-e2e-routing-{name}.png")
    for page in (first, second, third, zpage, lpage, boss):
        await page.context.close()
    assert errors == []
