"""Prometheus metrics: request counts and latency by route and status, pool usage, outbox.

With several server processes, `rampart serve` points PROMETHEUS_MULTIPROC_DIR at a fresh
directory so any worker's /metrics answers for all of them.

/metrics tells an outsider the Python version, every route and the pool's figures, so it is
not for everyone: with `METRICS_TOKEN` set it asks for `Authorization: Bearer <that token>`
(401 otherwise); in production without one it is not served (404), in development it is open.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from litestar import Request, Response, get
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from shared.http.problems import not_found, unauthenticated

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
POOL = Gauge("db_pool_connections", "Database pool connections", ["state"],
             multiprocess_mode="livesum")


# Any other method a client sends is counted as "_OTHER", so label values stay a short list.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method if method in _METHODS else "_OTHER", route, status)
    series = _series.get(key)
    if series is None:  # `labels()` is a locked lookup: resolve each series once per process
        series = _series[key] = (REQUESTS.labels(key[0], route, str(status)),
                                 LATENCY.labels(key[0], route))
    series[0].inc()
    series[1].observe(seconds)


def observe_pool(stats: dict[str, int]) -> None:
    size = stats.get("pool_size", 0)
    idle = stats.get("pool_available", 0)
    POOL.labels("open").set(size)
    POOL.labels("idle").set(idle)
    POOL.labels("busy").set(size - idle)
    POOL.labels("waiting").set(stats.get("requests_waiting", 0))


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)


@get("/metrics", opt={"public": True, "ops": True}, include_in_schema=False, sync_to_thread=False)
def metrics(request: Request[Any, Any, Any]) -> Response[Any]:
    settings = request.app.state.settings
    token = settings.metrics_token
    if token is None and settings.is_production:
        raise not_found("No resource lives at this path.")
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                  token.encode()):
            raise unauthenticated("/metrics needs `Authorization: Bearer <METRICS_TOKEN>`.")
    # Litestar appends the charset itself.
    return Response(render(), media_type=CONTENT_TYPE_LATEST.split("; charset")[0],
                    headers={"Cache-Control": "no-store"})
