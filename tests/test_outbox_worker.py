"""`rampart worker`: the relay alone, in a process of its own, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from uuid_utils.compat import uuid7

from shared.modules import discover
from tests.fixtures import eventually, free_port
from tests.outbox_support import query

ROOT = Path(__file__).resolve().parents[1]


async def test_the_worker_claims_deliveries_and_stops_cleanly_on_sigterm(
        database_url: str) -> None:
    subscriptions = [s for m in discover() for s in m.subscriptions]
    if subscriptions:
        # A delivery for a real subscriber with an empty payload: whatever that handler makes
        # of it, the worker must claim it and try (attempts goes up).
        event_id = uuid7()
        await query(database_url, """
            INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload, occurred_at)
            VALUES (%s, %s, %s, '{}', now())""",
                    (event_id, subscriptions[0].event_type, uuid7()))
        await query(database_url, """
            INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id, seq)
            SELECT %s, id, %s, aggregate_id, seq FROM kernel.outbox_events""",
                    (uuid7(), subscriptions[0].name))
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "ERROR",
           "WORKER_METRICS_PORT": str(port)}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared", "worker", cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await eventually(lambda: _connected(database_url), timeout=20)
        if subscriptions:
            await eventually(lambda: _tried(database_url), timeout=20)
        async with httpx.AsyncClient() as http:  # its outbox metrics, for Prometheus
            metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert "outbox_backlog" in metrics and "outbox_oldest_due_age_seconds" in metrics
        if subscriptions:
            assert "outbox_deliveries_total{" in metrics
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), timeout=20) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()


async def _connected(url: str) -> bool:
    rows = await query(url, "SELECT count(*) AS n FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    return rows[0]["n"] > 0


async def _tried(url: str) -> bool:
    rows = await query(url, "SELECT attempts FROM kernel.outbox_deliveries")
    return rows[0]["attempts"] >= 1
