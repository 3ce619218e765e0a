"""A knowledge admin writes an FAQ entry in the console, a second one approves it, and search finds it
(recognising the entry's product in the question).

Drives the built console (web/dist) through the real server in headless Chromium; leaves screenshots of
the editor and the search test page in LINGXI_E2E_SCREENSHOTS (default /tmp).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

pytestmark = pytest.mark.e2e

QUESTION = "灵犀借记卡可以在境外ATM取现吗？"
SIMILAR = ["出国了能用借记卡取钱吗", "在国外取款机取现金收费吗"]
ANSWER = (
    "可以。贴有银联标识的境外ATM均可取现，每笔手续费12元加取款金额的0.5%。\n\n"
    "每卡每日境外取现不超过等值1万元人民币。"
)


async def _context(browser: Browser) -> BrowserContext:
    return await browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1440, "height": 900}
    )


async def _login(page: Page, url: str, username: str) -> None:
    await page.goto(url)
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill("Passw0rd!")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("current-user")).to_be_visible()


async def test_write_review_and_find_an_answer(
    browser: Browser, server_url: str, make_staff: Any, screenshot_dir: Path
) -> None:
    await make_staff(
        "knowledge_admin", username="kb_writer", password="Passw0rd!", display_name="知识编辑小罗"
    )
    await make_staff(
        "knowledge_admin", username="kb_checker", password="Passw0rd!", display_name="知识审核小周"
    )
    errors: list[str] = []

    # --- the first knowledge admin writes the entry and submits it ----------------------------
    writer = await _context(browser)
    page = await writer.new_page()
    page.on("pageerror", lambda exc: errors.append(f"writer: {exc}"))
    await _login(page, f"{server_url}/console/", "kb_writer")
    await page.get_by_test_id("menu-knowledge").click()
    await page.get_by_test_id("kb-new").click()
    await page.get_by_test_id("kb-question").fill(QUESTION)
    await page.get_by_test_id("kb-similar").first.fill(SIMILAR[0])
    await page.get_by_test_id("kb-similar-add").click()
    await page.get_by_test_id("kb-similar").nth(1).fill(SIMILAR[1])
    await page.get_by_test_id("kb-answer").fill(ANSWER)
    await expect(page.get_by_test_id("kb-preview").locator("p")).to_have_count(2)  # plain text → paragraphs
    await page.get_by_test_id("kb-products").fill("灵犀借记卡 / 借记卡")
    await page.get_by_test_id("kb-category").click()
    await page.keyboard.type("银行卡")
    await page.keyboard.press("Enter")
    await page.get_by_test_id("kb-submit").click()  # saves the new entry, then submits it
    status = page.get_by_test_id("kb-entry-status")
    await expect(status).to_have_attribute("data-status", "in_review")
    await expect(page.get_by_test_id("kb-products")).to_have_value("灵犀借记卡 / 借记卡")  # as saved
    await expect(page.get_by_test_id("kb-review-hint")).to_contain_text("另一位知识管理员")  # four-eyes
    await expect(page.get_by_test_id("kb-approve")).to_have_count(0)
    await page.screenshot(path=screenshot_dir / "lingxi-e2e-knowledge-editor.png")

    # --- the second knowledge admin approves it from the review queue --------------------------
    checker = await _context(browser)
    review = await checker.new_page()
    review.on("pageerror", lambda exc: errors.append(f"checker: {exc}"))
    await _login(review, f"{server_url}/console/", "kb_checker")
    await review.get_by_test_id("menu-knowledgeReview").click()
    item = review.get_by_test_id("kb-review-item")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text(QUESTION)
    await item.get_by_test_id("kb-review-approve").click()
    await review.get_by_test_id("kb-comment").fill("内容与收费标准一致")
    await review.get_by_test_id("kb-comment-confirm").click()
    await expect(review.get_by_test_id("kb-review-item")).to_have_count(0)

    # --- it is live at once: the search test finds it for a paraphrase ------------------------
    await review.get_by_test_id("menu-knowledgeSearch").click()
    await review.get_by_test_id("kb-search-input").fill("在国外ATM用借记卡取现金可以吗")
    await review.get_by_test_id("kb-search-run").click()
    first = review.get_by_test_id("kb-hit").first
    await expect(first.get_by_test_id("kb-hit-question")).to_have_text(QUESTION)
    await expect(review.get_by_test_id("kb-search-products")).to_contain_text("灵犀借记卡")
    await expect(first.get_by_test_id("kb-hit-product")).to_be_visible()
    decision = await review.get_by_test_id("kb-decision").get_attribute("data-decision")
    assert decision in ("answer", "suggest"), decision
    await review.screenshot(path=screenshot_dir / "lingxi-e2e-knowledge-search.png")

    # --- the author's list shows it published -------------------------------------------------
    await page.get_by_test_id("menu-knowledge").click()
    row_status = page.get_by_test_id("kb-status").first
    await expect(row_status).to_have_attribute("data-status", "published")

    for context in (writer, checker):
        await context.close()
    assert errors == []
