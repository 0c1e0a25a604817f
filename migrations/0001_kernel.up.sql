-- The kernel's own tables: the transactional outbox (and, later, idempotency records).
CREATE SCHEMA kernel;

CREATE TABLE kernel.outbox_events (
    id           uuid PRIMARY KEY,
    type         text NOT NULL,
    aggregate_id uuid NOT NULL,
    payload      jsonb NOT NULL,
    traceparent  text,
    occurred_at  timestamptz NOT NULL
);

CREATE TABLE kernel.outbox_deliveries (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES kernel.outbox_events (id) ON DELETE CASCADE,
    subscriber       text NOT NULL,
    aggregate_id     uuid NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'done', 'dead')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_token      uuid,
    lease_expires_at timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    done_at          timestamptz,
    UNIQUE (event_id, subscriber)
);
CREATE INDEX outbox_deliveries_due ON kernel.outbox_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX outbox_deliveries_dead ON kernel.outbox_deliveries (id) WHERE state = 'dead';
