"""The docs page as a person sees it: headless Chromium loads /schema from a real server, with
no network but the server's own, and the operations are listed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.fixtures import TEST_SIGNING_KEY
from tests.processes import Server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)")


def render(url: str, screenshot: Path) -> str:
    """The DOM once the page's scripts ran; a screenshot beside it, to look at."""
    assert CHROMIUM is not None, "chromium is missing in CI: .ci/run installs it"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
             "--no-first-run", "--virtual-time-budget=15000", "--window-size=1280,1600",
             # Nothing but the server's own address: a page that needs a CDN stays blank.
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
    return subprocess.run([*flags, f"--screenshot={screenshot}", "--dump-dom", url],
                          check=True, capture_output=True, timeout=90, text=True).stdout


def test_the_docs_page_lists_the_operations(database_url, tmp_path) -> None:
    server = Server({"DATABASE_URL": database_url, "TOKEN_SIGNING_KEY": TEST_SIGNING_KEY,
                     "LOG_LEVEL": "WARNING", "RELAY_ENABLED": "false"})
    try:
        documented = set(httpx.get(f"{server.base}/schema/openapi.json").json()["paths"])
        dom = render(f"{server.base}/schema", tmp_path / "schema.png")
    finally:
        server.stop()
    listed = set(re.findall(r'data-path="([^"]+)"', dom))
    assert documented and documented <= listed, documented - listed
    assert "opblock-summary-method" in dom
    assert (tmp_path / "schema.png").stat().st_size > 10_000
