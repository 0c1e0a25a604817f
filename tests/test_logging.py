"""Logs: one JSON object per request with its context, and never a secret."""

from __future__ import annotations

import io
import json

from shared.logging import configure_logging


async def test_access_log_has_context_and_no_secrets(client, api) -> None:
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    try:
        password = "SuperSecret-Passw0rd"
        user = await api.register(password=password)
        pair = await api.login(user["email"], password=password)
        await client.get("/v1/users/me", headers={
            "Authorization": f"Bearer {pair['access_token']}", "X-Request-ID": "req-42"})
        await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    finally:
        configure_logging("WARNING")
    text = buffer.getvalue()
    for secret in (password, pair["access_token"], pair["refresh_token"], "Bearer"):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    me = next(line for line in lines if line.get("route") == "/v1/users/me")
    assert me["request_id"] == "req-42" and me["user_id"] == user["id"]
    assert me["status"] == 200 and me["method"] == "GET" and me["duration_ms"] > 0
    assert len(me["trace_id"]) == 32 and len(me["span_id"]) == 16
    assert me["level"] == "info" and me["event"] == "request"


def test_secret_named_keys_are_redacted_whoever_logs_them() -> None:
    import structlog

    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    try:
        structlog.get_logger().info("oops", password="hunter2", refresh_token="abc")
    finally:
        configure_logging("WARNING")
    line = json.loads(buffer.getvalue())
    assert line["password"] == "[redacted]" and line["refresh_token"] == "[redacted]"


async def test_access_lines_leave_together_and_other_lines_keep_their_order() -> None:
    import asyncio

    from shared.logging import LineWriter

    out = io.StringIO()
    lines = LineWriter(out, delay=0.05, max_pending=3)
    lines.later("a1\n")
    lines.later("a2\n")
    assert out.getvalue() == ""  # waiting for the timer
    await asyncio.sleep(0.1)
    assert out.getvalue() == "a1\na2\n"
    lines.later("a3\n")
    lines.write("error\n")  # written at once, after the access line before it
    assert out.getvalue() == "a1\na2\na3\nerror\n"
    for n in range(3):
        lines.later(f"b{n}\n")
    assert out.getvalue().endswith("b0\nb1\nb2\n")  # max_pending reached: no wait
    await asyncio.sleep(0.1)  # the timer due from a3 finds nothing left: no repeat
    assert out.getvalue().count("b0") == 1


def test_access_lines_off_the_event_loop_are_written_at_once() -> None:
    from shared.logging import LineWriter

    out = io.StringIO()
    LineWriter(out).later("now\n")
    assert out.getvalue() == "now\n"


async def test_library_lines_are_json_with_the_request_context(client) -> None:
    """Once the app has started (Litestar's own logging setup would replace the handler), a
    standard-library line - psycopg_pool's warnings - is one JSON object, with the request it
    was logged for."""
    import logging

    from shared.auth.principal import Principal
    from shared.logging import bind_request, unbind_request

    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    user = Principal(user_id="0190b3a0-0000-7000-8000-000000000001", role="customer")  # type: ignore[arg-type]
    bound = bind_request({"state": {"request_id": "req-7"}, "user": user})
    try:
        await client.get("/health/live")  # the app is running
        logging.getLogger("psycopg.pool").warning("error connecting in %r:\nsecond line", "x")
    finally:
        unbind_request(bound)
        configure_logging("WARNING")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    pool = next(line for line in lines if line["logger"] == "psycopg.pool")
    assert pool["event"] == "error connecting in 'x':\nsecond line"
    assert pool["level"] == "warning" and pool["request_id"] == "req-7"
    assert pool["user_id"] == "0190b3a0-0000-7000-8000-000000000001"
