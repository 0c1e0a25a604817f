"""The interactive API docs under /schema, with every asset served by Rampart itself.

The pages work with no internet: nothing is loaded from a CDN, each asset comes from
/schema/assets/ and is pinned, so a release shows the pages it was tested with.
- `/schema` (and `/schema/scalar`): Scalar API Reference. No Python package ships it, so its
  standalone bundle is vendored in `vendor/scalar-api-reference/` with its version, sha256 and
  licence (`manifest.toml`; a test recomputes the checksum). Its URL names the version, so it
  is cached as immutable. Its default fonts (a CDN) are off.
- `/schema/swagger`: Swagger UI's scripts, styles and icon from the `swagger-ui-py` package
  (pinned in pyproject.toml).
- `/schema/openapi.json`: the document.

`DOCS_ENABLED` (default: on in development, off in production) decides whether any of /schema
answers; off, every path under it is a 404 problem like any unknown path. An unknown path under
/schema is a problem JSON 404 too (Litestar would answer an HTML page).
"""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from typing import Any

from litestar import Response, Router, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.params import FromPath

from shared.settings import Settings

_spec = importlib.util.find_spec("swagger_ui")  # found, not imported: its code needs jinja2
if _spec is None or not _spec.submodule_search_locations:
    raise ImportError("swagger-ui-py is not installed (it ships the docs' assets)")
_SWAGGER_DIR = Path(next(iter(_spec.submodule_search_locations))) / "static"
SCALAR_DIR = Path(__file__).parent / "vendor" / "scalar-api-reference"
SCALAR = tomllib.loads((SCALAR_DIR / "manifest.toml").read_text())
SCALAR_JS = f"scalar-api-reference-{SCALAR['version']}.js"
_DAY, _IMMUTABLE = "public, max-age=86400", "public, max-age=31536000, immutable"
# name -> (file, media type, Cache-Control)
ASSETS = {
    "swagger-ui-bundle.js": (_SWAGGER_DIR / "swagger-ui-bundle.js", "text/javascript", _DAY),
    "swagger-ui-standalone-preset.js": (
        _SWAGGER_DIR / "swagger-ui-standalone-preset.js", "text/javascript", _DAY),
    "swagger-ui.css": (_SWAGGER_DIR / "swagger-ui.css", "text/css", _DAY),
    "favicon-32x32.png": (_SWAGGER_DIR / "favicon-32x32.png", "image/png", _DAY),
    SCALAR_JS: (SCALAR_DIR / SCALAR["file"], "text/javascript", _IMMUTABLE),
}
_cache: dict[str, bytes] = {}


@get("/assets/{name:str}", sync_to_thread=False, include_in_schema=False)
def asset(name: FromPath[str]) -> Response[bytes]:
    if name not in ASSETS:
        raise NotFoundException
    path, media_type, cache_control = ASSETS[name]
    body = _cache.get(name)
    if body is None:
        body = _cache[name] = path.read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": cache_control})


_BASE = "/schema/assets/"
_FAVICON = f"<link rel='icon' type='image/png' href='{_BASE}favicon-32x32.png'>"


class Scalar(ScalarRenderPlugin):
    """Litestar's Scalar page without its one remote asset (a theme stylesheet on a CDN):
    the bundle carries its own styles."""

    def render(self, request: Any, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, openapi_schema).replace(
            f'<link rel="stylesheet" type="text/css" href="{self.css_url}">'.encode(), b"")


def render_plugins() -> list[ScalarRenderPlugin | SwaggerRenderPlugin]:
    """The viewers; the first one is also the page at /schema itself."""
    return [
        Scalar(js_url=_BASE + SCALAR_JS, path="/scalar", favicon=_FAVICON,
               options={"withDefaultFonts": False, "defaultOpenAllTags": True}),
        SwaggerRenderPlugin(
            js_url=_BASE + "swagger-ui-bundle.js", css_url=_BASE + "swagger-ui.css",
            standalone_preset_js_url=_BASE + "swagger-ui-standalone-preset.js", path="/swagger",
            favicon=_FAVICON),
    ]


def docs_router(settings: Settings) -> Router:
    """The router Litestar serves the OpenAPI document and the viewer on."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any],
                    handler: BaseRouteHandler) -> None:
        # Async so that Litestar calls it in place (a plain function runs in a thread).
        # Litestar's catch-all for unknown /schema paths answers HTML; ours is problem JSON.
        if not settings.serves_docs or handler.handler_name == "handle_schema_path_not_found":
            raise NotFoundException

    return Router("/schema", route_handlers=[asset], guards=[guard], include_in_schema=False)
