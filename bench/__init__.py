"""Rampart's benchmark harness: `make bench` (full) and `make bench-quick` (a smoke run).

Not part of `make test`: speed is measured here, never asserted. The pieces: `scenarios.py`
(the registry: what is measured, against which ceiling, with which target), `run.py` (servers,
seeding, wrk and pgbench runs, samplers), `report.py` (the Markdown report and its plots, from
the JSON a run writes), `wrk/` (the load generator's Lua script), `pgbench/` (raw PostgreSQL
doing each write scenario's statements), `outbox.py` (the event bus on its own).
"""
