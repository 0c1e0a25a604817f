-- The kernel's own tables: the transactional outbox (and, later, idempotency records).
CREATE SCHEMA kernel;

CREATE TABLE kernel.outbox_events (
    id           uuid PRIMARY KEY,  -- UUIDv7: time-ordered, so housekeeping walks the pkey
    -- Taken while the publisher holds its aggregate's advisory lock: within one aggregate,
    -- seq order is commit order (see shared/db/events.py and shared/db/outbox_sql.py).
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    type         text NOT NULL,
    aggregate_id uuid NOT NULL,
    payload      jsonb NOT NULL,
    traceparent  text,
    occurred_at  timestamptz NOT NULL
);

-- One row per (event, subscriber): the unit that is claimed, retried and acknowledged.
-- A claimed row is 'pending' with a live lease; only the lease holder may finish it.
CREATE TABLE kernel.outbox_deliveries (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES kernel.outbox_events (id),
    subscriber       text NOT NULL,
    aggregate_id     uuid NOT NULL,
    seq              bigint NOT NULL,  -- the event's seq, copied: the lane order
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'done', 'dead')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_token      uuid,
    lease_expires_at timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    done_at          timestamptz,
    UNIQUE (event_id, subscriber)
) WITH (fillfactor = 80);  -- room on each page, so that claiming (no indexed column) is a HOT update
-- What the relay claims next.
CREATE INDEX outbox_deliveries_due ON kernel.outbox_deliveries (next_attempt_at)
    WHERE state = 'pending';
-- A lane is (subscriber, aggregate): the claim asks "is an earlier delivery of this lane
-- unfinished?", and a dead letter stays in here, holding its lane until it is retried.
CREATE INDEX outbox_deliveries_lane ON kernel.outbox_deliveries (subscriber, aggregate_id, seq)
    WHERE state <> 'done';
CREATE INDEX outbox_deliveries_dead ON kernel.outbox_deliveries (id) WHERE state = 'dead';
