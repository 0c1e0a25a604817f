"""Prometheus metrics of the outbox relay (served by /metrics with the HTTP ones)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Every relay measures the same shared table, so with several processes the latest reading is
# the truth, not their sum.
BACKLOG = Gauge("outbox_backlog",
                "Deliveries not done yet, by state (pending, orphaned: no such subscriber, dead)",
                ["state"], multiprocess_mode="mostrecent")
OLDEST_DUE_AGE = Gauge("outbox_oldest_due_age_seconds",
                       "How long the oldest due delivery has been waiting",
                       multiprocess_mode="mostrecent")
DELIVERIES = Counter("outbox_deliveries_total",
                     "Delivery attempts by subscriber and outcome (done, retry, dead, lost)",
                     ["subscriber", "outcome"])
HANDLER_SECONDS = Histogram(
    "outbox_handler_duration_seconds", "Handler run time, acknowledgement included",
    ["subscriber"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GROUPS_ROLLED_BACK = Counter("outbox_groups_rolled_back_total",
                             "Groups of deliveries rolled back and rerun one by one")
