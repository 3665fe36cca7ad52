"""Headless Chromium for browser tests: the Debian package at /usr/bin/chromium, driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """The chromium executable; a missing one fails the test (it is a dependency, not an option)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"chromium is missing ({CHROMIUM} not found): `make test` installs it "
                    "(apt-get install chromium)", pytrace=False)
    return CHROMIUM


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium browser, closed afterwards."""
    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()
