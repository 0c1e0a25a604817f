"""Helpers with no side effects, for the tests and for the benchmarks.

`tests/fixtures.py` (the pytest plugin) sets OTEL_TRACES_SAMPLER for the tests when imported;
the benchmarks import from here instead, so the servers and relays they start run with the
production defaults.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def eventually(check: Callable[[], Any], *, timeout: float = 5.0,
                     interval: float = 0.02) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
