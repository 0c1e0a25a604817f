"""The docs pages as a person sees them: headless Chromium loads Scalar (/schema) and Swagger UI
(/schema/swagger) from a real server, with no network but the server's own, and every
operation of the document is listed."""

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


def operations(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method in item if method in ("get", "put", "post", "patch", "delete")}


def test_both_docs_pages_list_every_operation(database_url, tmp_path) -> None:
    server = Server({"DATABASE_URL": database_url, "TOKEN_SIGNING_KEY": TEST_SIGNING_KEY,
                     "LOG_LEVEL": "WARNING", "RELAY_ENABLED": "false"})
    try:
        document = httpx.get(f"{server.base}/schema/openapi.json").json()
        scalar = render(f"{server.base}/schema", tmp_path / "scalar.png")
        swagger = render(f"{server.base}/schema/swagger", tmp_path / "swagger.png")
    finally:
        server.stop()
    documented = operations(document)
    assert documented
    # Swagger UI: one block per operation, its path in `data-path`.
    assert {path for _, path in documented} <= set(re.findall(r'data-path="([^"]+)"', swagger))
    assert "opblock-summary-method" in swagger
    # Scalar: one sidebar entry per operation, named by its tag, method and path.
    entries = set(re.findall(r'data-sidebar-id="[^"]*/tag/[^/"]+/([A-Z]+)(/[^"]*)"', scalar))
    assert documented <= entries, documented - entries
    for page in ("scalar.png", "swagger.png"):
        assert (tmp_path / page).stat().st_size > 10_000
