"""Operational endpoints: liveness and readiness (application/health+json)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get

from shared.db.migrations import latest_version

HEALTH_JSON = "application/health+json"
OPS = {"public": True, "ops": True}


@get("/health/live", opt=OPS, include_in_schema=False, sync_to_thread=False)
def live() -> Response[Any]:
    return Response({"status": "pass"}, media_type=HEALTH_JSON,
                    headers={"Cache-Control": "no-store"})


@get("/health/ready", opt=OPS, include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[Any]:
    state = request.app.state
    checks: dict[str, list[dict[str, Any]]] = {}
    ok = not state.shutting_down
    checks["process:shutdown"] = [{"status": "fail" if state.shutting_down else "pass"}]
    try:
        async with asyncio.timeout(2):
            async with state.db.connection() as conn:
                cur = await conn.execute(
                    "SELECT coalesce(max(version), 0) AS version FROM public.rampart_migrations")
                row = await cur.fetchone()
        current, wanted = row["version"], latest_version()
        checks["postgresql:responsive"] = [{"status": "pass"}]
        behind = current < wanted
        checks["postgresql:migrations"] = [{
            "status": "fail" if behind else "pass", "observedValue": current,
            "output": f"at {current}, code expects {wanted}" if behind else "",
        }]
        ok = ok and not behind
    except Exception:  # any failure to answer is "not ready"; the reason is not for callers
        checks["postgresql:responsive"] = [{"status": "fail", "output": "database unavailable"}]
        ok = False
    return Response({"status": "pass" if ok else "fail", "checks": checks},
                    status_code=200 if ok else 503, media_type=HEALTH_JSON,
                    headers={"Cache-Control": "no-store"})
