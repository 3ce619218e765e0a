"""Helpers the e2e tests share: browser contexts, log-in, finding messages."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, BrowserContext, Locator, Page, expect


async def context(browser: Browser, **kwargs: Any) -> BrowserContext:
    return await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **kwargs)


def watch_errors(page: Page, errors: list[str]) -> None:
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))


def message(page: Page, sender_type: str, text: str) -> Locator:
    return page.locator(f'[data-testid="message"][data-sender-type="{sender_type}"]', has_text=text)


async def staff_login(page: Page, url: str, username: str) -> None:
    await page.goto(url)
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill("Passw0rd!")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("current-user")).to_be_visible()
