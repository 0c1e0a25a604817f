"""The interactive API docs under /schema, with every asset served by Rampart itself.

The page works with no internet: Swagger UI's scripts, styles and icon come from the
`swagger-ui-py` package (pinned in pyproject.toml, so a release shows the page it was tested
with) under /schema/assets/, never from a CDN. `/schema` and `/schema/swagger` show it,
`/schema/openapi.json` is the document.

`DOCS_ENABLED` (default: on in development, off in production) decides whether any of /schema
answers; off, every path under it is a 404 problem like any unknown path. An unknown path under
/schema is a problem JSON 404 too (Litestar would answer an HTML page).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from litestar import Response, Router, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath

from shared.settings import Settings

_spec = importlib.util.find_spec("swagger_ui")  # found, not imported: its code needs jinja2
if _spec is None or not _spec.submodule_search_locations:
    raise ImportError("swagger-ui-py is not installed (it ships the docs' assets)")
ASSET_DIR = Path(next(iter(_spec.submodule_search_locations))) / "static"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
_cache: dict[str, bytes] = {}


@get("/assets/{name:str}", sync_to_thread=False, include_in_schema=False)
def asset(name: FromPath[str]) -> Response[bytes]:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFoundException
    body = _cache.get(name)
    if body is None:
        body = _cache[name] = (ASSET_DIR / name).read_bytes()
    return Response(body, media_type=media_type,
                    headers={"Cache-Control": "public, max-age=86400"})


def render_plugin() -> SwaggerRenderPlugin:
    base = "/schema/assets/"
    return SwaggerRenderPlugin(
        js_url=base + "swagger-ui-bundle.js", css_url=base + "swagger-ui.css",
        standalone_preset_js_url=base + "swagger-ui-standalone-preset.js", path="/swagger",
        favicon=f"<link rel='icon' type='image/png' href='{base}favicon-32x32.png'>")


def docs_router(settings: Settings) -> Router:
    """The router Litestar serves the OpenAPI document and the viewer on."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        # Litestar's catch-all for unknown /schema paths answers HTML; ours is problem JSON.
        if not settings.serves_docs or handler.handler_name == "handle_schema_path_not_found":
            raise NotFoundException

    return Router("/schema", route_handlers=[asset], guards=[guard], include_in_schema=False)
