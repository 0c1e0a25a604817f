"""Structured JSON logs to stdout, one object per line, with request and trace context.

The trace and span ids of the current OpenTelemetry span are added to every line by a
processor; code that runs for one event (the outbox relay) binds its ids with structlog's
contextvars. No processor here ever sees a request body or an Authorization header: secrets
are never handed to a logger.

The access log (one line per request, the only per-request line) skips structlog's processor
chain: `access_line` writes the same JSON shape directly. Measured here, the chain cost about
40 us per request in a server process, a quarter of a simple GET's CPU; the direct line is a
dict, an encode and a write.

Access lines are buffered, as nginx's `access_log ... buffer= flush=` does: they leave in one
write at most 50 ms after the first of them, or once 256 wait (`LineWriter`). A write is a
system call that releases the GIL, which granian's own threads are waiting for, and a write
per request cost a product read up to a fifth of its CPU here. Every other line is written at
once, after the access lines waiting before it, so the output keeps its order and an error is
never held back. A process killed outright loses at most the last 50 ms of access lines.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from shared.logging.tracing import current_ids

_REDACT = {"password", "access_token", "refresh_token", "authorization", "token", "secret"}


# The ASGI scope of the request being served, so that any line logged on its behalf (by
# Rampart or by a library) names it. Set once per request by the envelope; read only when a
# line is written.
_request: ContextVar[Any] = ContextVar("rampart_request", default=None)


def bind_request(scope: Any) -> Token[Any]:
    return _request.set(scope)


def unbind_request(token: Token[Any]) -> None:
    _request.reset(token)


def _add_context(event: dict[str, Any]) -> dict[str, Any]:
    scope = _request.get()
    if scope is not None:
        if "request_id" not in event:
            event["request_id"] = scope.get("state", {}).get("request_id")
        user_id = getattr(scope.get("user"), "user_id", None)
        if user_id is not None and "user_id" not in event:
            event["user_id"] = str(user_id)
    if "trace_id" not in event:
        trace_id, span_id = current_ids()
        if trace_id:
            event["trace_id"], event["span_id"] = trace_id, span_id
    return event


def _add_trace_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    return _add_context(event)


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    # A last line of defence: a key that names a secret is never printed, whoever logged it.
    for key in event.keys() & _REDACT:
        event[key] = "[redacted]"
    return event


_encoder = msgspec.json.Encoder(enc_hook=str)  # anything unusual is logged as its str()


def _to_json(event: dict[str, Any], **_: Any) -> str:
    return _encoder.encode(event).decode()


class LineWriter:
    """The process's log output: a text stream for structlog and the standard library, whose
    lines are written at once, and `later()` for access lines, which wait to leave together.

    Lines handed to `later()` on a running event loop are written `delay` seconds after the
    first of them, or as soon as `max_pending` wait; off the event loop they are written at
    once. Any other write, and `flush()`, first writes what waits.
    """

    def __init__(self, stream: Any, *, delay: float = 0.05, max_pending: int = 256) -> None:
        self.stream = stream
        self.delay = delay
        self.max_pending = max_pending
        self._pending: list[str] = []
        self._timer_loop: asyncio.AbstractEventLoop | None = None  # where a write-out is due

    def later(self, line: str) -> None:
        self._pending.append(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or len(self._pending) >= self.max_pending:
            self.flush()
        elif loop is not self._timer_loop:  # none due on this loop (a closed loop's never runs)
            self._timer_loop = loop
            loop.call_later(self.delay, self._timer_fired)

    def write(self, text: str) -> int:
        self._write_out(text)
        return len(text)

    def flush(self) -> None:
        self._write_out("")

    def _timer_fired(self) -> None:
        self._timer_loop = None
        self.flush()

    def _write_out(self, text: str) -> None:
        if self._pending:
            text, self._pending = "".join(self._pending) + text, []
        if text:
            self.stream.write(text)
            self.stream.flush()


class _Output:
    lines = LineWriter(sys.stdout)
    access: bool = True  # INFO lines are written


def access_line(fields: dict[str, Any]) -> None:
    """One access-log line: `fields` plus event, level, logger and timestamp, as JSON."""
    if _Output.access:
        fields["event"], fields["level"], fields["logger"] = "request", "info", "rampart.access"
        fields["timestamp"] = datetime.now(UTC)  # msgspec writes RFC 3339, "Z" for UTC
        _Output.lines.later(_encoder.encode(fields).decode() + "\n")


def flush_logs() -> None:
    """Write the access lines that are waiting (at shutdown: granian's workers skip atexit)."""
    _Output.lines.flush()


atexit.register(flush_logs)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    numeric = logging.getLevelName(level)
    _Output.lines.flush()  # what was logged before goes where it was meant to go
    _Output.lines = lines = LineWriter(stream or sys.stdout)
    _Output.access = numeric <= logging.INFO
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
        _redact,
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(serializer=_to_json),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(lines),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,  # tests and the CLI reconfigure the output
    )
    # Libraries that log through the standard library (psycopg_pool...) at WARNING and above,
    # as JSON lines too.
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=max(numeric, logging.WARNING), handlers=[handler], force=True)


class JsonFormatter(logging.Formatter):
    """Standard-library log records (psycopg_pool, granian, any library) as the same JSON lines
    structlog writes, request and trace context included: a multi-line message or traceback
    stays inside one JSON string, so one record is always one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"event": record.getMessage(), "level": record.levelname.lower(),
                "logger": record.name,
                "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat()}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _to_json(_redact(None, "", _add_context(line)))


# granian's own lines (start, stop, worker lifecycle) in the same format: `log_dictconfig`.
GRANIAN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {"console": {"formatter": "json", "class": "logging.StreamHandler",
                             "stream": "ext://sys.stdout"}},
    "loggers": {"_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
                "granian.access": {"handlers": ["console"], "level": "INFO",
                                   "propagate": False}},
}
