"""Browser fixtures for the e2e tests: Debian's Chromium driven by Playwright's async API.

The server fixture runs uvicorn in the test event loop, so only playwright.async_api works here
(the sync API would block the loop the server needs).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.banking_fixtures import banked  # noqa: F401 - a customer with cards, bills, holdings

CHROMIUM = Path(os.environ.get("LINGXI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where the e2e tests leave screenshots of each page (for a person to look at)."""
    path = Path(os.environ.get("LINGXI_E2E_SCREENSHOTS", "/tmp"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make e2e-deps` (Debian package chromium)"
    for app in ("customer", "agent", "console"):
        assert (WEB_DIST / app / "index.html").is_file(), "the web app is not built: run `make web`"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()
