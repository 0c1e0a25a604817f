"""A relay in a process of its own, for the crash tests and the benchmark.

    python -m tests.outbox_relay DATABASE_URL MODE    (MODE: see tests.outbox_support.MODES)

Settings come from OUTBOX_* environment variables. Prints "ready" once the relay runs, and
stops cleanly on SIGTERM (SIGKILL is the point of the crash tests).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from shared.cli import run_async
from tests.outbox_support import MODES, register, relay_settings, running, subscription


async def main(url: str, mode: str) -> None:
    # The test handlers only write to the database, so they may share transactions.
    sub = subscription(MODES[mode](), shares_transaction=True)
    register(sub)
    overrides = {k: v for k, v in os.environ.items() if k.startswith("OUTBOX_")}
    async with running(url, [sub], relay_settings(**overrides)):
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    run_async(main(sys.argv[1], sys.argv[2]))
