"""A work order from a chat to resolution, as the agent, the back office and the customer see it.

The customer asks for a person on the H5 chat; the agent opens a work order prefilled from the
conversation; the back office takes it in the console's work-order centre and asks the customer for
information; the customer adds it on the 我的工单 page; the back office resolves; the customer
confirms and rates. Screenshots of each page go to LINGXI_E2E_SCREENSHOTS (default /tmp).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from lingxi.core.actor import Actor
from lingxi.identity.app_tokens import issue_demo_app_token
from lingxi.tickets.defaults import do_install_defaults
from lingxi.tickets.models import DispatchRule, Ticket, TicketTeam, TicketTeamMember
from tests.e2e.test_chat_flow import _context, _staff_login, _watch_errors

pytestmark = pytest.mark.e2e

QUESTION = "信用卡账单里多扣了一笔300元年费，我要转人工"
ASK = "请上传年费扣款短信截图，或告知扣款日期"
INFO = "扣款日期是11月25日，短信已删除"
RESOLUTION = "经核实您已满足免年费条件，300元年费已退回信用卡账户"


async def _desk(db: Any, back_office_id: int) -> None:
    async with db.sessionmaker() as s:
        await do_install_defaults(session=s, actor=Actor.system("e2e"))
        team = TicketTeam(
            code="HO-CARD",
            name_zh="信用卡中心",
            name_en="Cards",
            lead_id=back_office_id,
            calendar_code="CN-HO",
        )
        s.add(team)
        await s.flush()
        s.add(TicketTeamMember(team_id=team.id, staff_id=back_office_id))
        s.add(DispatchRule(position=1, name="全部到信用卡中心", team_id=team.id))
        await s.commit()


async def _drawer_action(page: Page, testid: str, text: str | None = None) -> None:
    await page.get_by_test_id(testid).click()
    if text is not None:
        await page.get_by_test_id("dialog-text").fill(text)
        await page.get_by_test_id("dialog-submit").click()


async def test_a_work_order_from_chat_to_resolution(
    browser: Browser, server_url: str, make_staff: Any, make_customer: Any, db: Any, screenshot_dir: Path
) -> None:
    customer = await make_customer(name="王小明")
    await make_staff("agent", username="agent_tk", password="Passw0rd!", display_name="小张")
    office_user, _ = await make_staff(
        "back_office", username="bo_tk", password="Passw0rd!", display_name="何专员"
    )
    await _desk(db, office_user.id)
    errors: list[str] = []

    # --- the customer asks for a person on the H5 chat -----------------------------------------------
    phone = await _context(browser, viewport={"width": 375, "height": 760}, is_mobile=True, has_touch=True)
    cpage = await phone.new_page()
    _watch_errors(cpage, errors)
    await cpage.goto(f"{server_url}/chat/?app_token={issue_demo_app_token(customer.customer_no)}")
    await expect(cpage.get_by_test_id("verification-badge")).to_have_attribute("data-level", "L1")
    await cpage.get_by_test_id("chat-input").fill(QUESTION)
    await cpage.get_by_test_id("chat-send").click()
    await expect(cpage.get_by_test_id("chat-status")).to_have_attribute("data-status", "queued")

    # --- the agent accepts and opens a work order prefilled from the conversation -------------------
    desk = await _context(browser, viewport={"width": 1440, "height": 900})
    apage = await desk.new_page()
    _watch_errors(apage, errors)
    await _staff_login(apage, f"{server_url}/agent/", "agent_tk")
    await apage.get_by_test_id("scope-queued").click()
    await apage.get_by_test_id("conversation-item").first.click()
    await apage.get_by_test_id("accept-button").click()
    await expect(apage.get_by_test_id("chat-pane")).to_have_attribute("data-status", "assigned")
    await apage.get_by_test_id("ticket-button").click()
    title = apage.get_by_test_id("ticket-title")
    await expect(title).to_have_value("其他：" + QUESTION)  # prefilled from the customer's words
    await expect(apage.get_by_test_id("ticket-description")).to_have_value(re.compile(f"客户：{QUESTION}"))
    await apage.get_by_test_id("ticket-create-submit").click()
    await expect(apage.get_by_text("工单 GD")).to_be_visible()
    async with db.sessionmaker() as s:
        ticket = await s.scalar(select(Ticket))
    assert ticket is not None and ticket.source == "conversation" and ticket.conversation_id is not None
    await apage.screenshot(path=screenshot_dir / "lingxi-e2e-ticket-agent.png")

    # --- the back office takes it in the work-order centre and asks the customer ---------------------
    office = await _context(browser, viewport={"width": 1440, "height": 900})
    opage = await office.new_page()
    _watch_errors(opage, errors)
    await _staff_login(opage, f"{server_url}/console/", "bo_tk")
    await opage.get_by_test_id("menu-tickets").click()
    row = opage.locator(f'[data-ticket-no="{ticket.ticket_no}"]')
    await expect(row).to_be_visible()
    await expect(opage.get_by_test_id("sla-countdown").first).to_have_attribute(
        "data-state", re.compile("ok|soon")
    )
    await row.click()
    detail = opage.get_by_test_id("ticket-detail")
    await expect(detail).to_have_attribute("data-status", "new")
    await expect(opage.get_by_test_id("customer-360")).to_be_visible()  # the customer beside the order
    await _drawer_action(opage, "act-claim")
    await expect(detail).to_have_attribute("data-status", "assigned")
    await _drawer_action(opage, "act-start")
    await expect(detail).to_have_attribute("data-status", "in_progress")
    await _drawer_action(opage, "act-request-info", ASK)
    await expect(detail).to_have_attribute("data-status", "pending_customer")
    await expect(opage.get_by_test_id("ticket-timeline")).to_contain_text(ASK)
    await opage.screenshot(path=screenshot_dir / "lingxi-e2e-ticket-console.png")

    # --- the customer follows the order on 我的工单 and adds the information ---------------------------
    await cpage.get_by_test_id("chat-menu").click()
    await cpage.get_by_test_id("menu-tickets").click()
    item = cpage.locator(f'[data-ticket-no="{ticket.ticket_no}"]')
    await expect(item).to_contain_text("待您补充信息")
    await item.click()
    progress = cpage.get_by_test_id("ticket-progress")
    await expect(progress).to_have_attribute("data-status", "pending_customer")
    await expect(cpage.get_by_test_id("ticket-steps")).to_contain_text(ASK)
    await cpage.get_by_test_id("ticket-info").fill(INFO)
    await cpage.get_by_test_id("ticket-info-send").click()
    await expect(progress).to_have_attribute("data-status", "in_progress")
    await expect(cpage.get_by_test_id("ticket-steps")).to_contain_text("已收到您的补充信息")

    # --- the back office sees the answer and resolves ----------------------------------------------------
    await opage.reload()
    await opage.locator(f'[data-ticket-no="{ticket.ticket_no}"]').click()
    await expect(opage.get_by_test_id("ticket-timeline")).to_contain_text(INFO)
    await _drawer_action(opage, "act-resolve", RESOLUTION)
    await expect(opage.get_by_test_id("ticket-detail")).to_have_attribute("data-status", "resolved")

    # --- the customer confirms and rates --------------------------------------------------------------------
    await cpage.reload()
    await expect(progress).to_have_attribute("data-status", "resolved")
    await expect(cpage.get_by_test_id("ticket-progress")).to_contain_text(RESOLUTION)
    await cpage.get_by_test_id("ticket-confirm").click()
    await expect(progress).to_have_attribute("data-status", "closed")
    await cpage.locator('[data-testid="ticket-rate"] .el-rate__item').nth(4).click()
    await cpage.get_by_test_id("ticket-rate-send").click()
    await expect(cpage.get_by_test_id("ticket-rate")).to_have_count(0)
    await cpage.screenshot(path=screenshot_dir / "lingxi-e2e-ticket-customer.png", full_page=True)

    async with db.sessionmaker() as s:
        done = await s.get(Ticket, ticket.id)
        assert done.status == "closed" and done.rating == 5 and done.resolution_met is True
    for context in (phone, desk, office):
        await context.close()
    assert errors == []
