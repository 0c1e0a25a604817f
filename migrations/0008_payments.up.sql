-- payments: charges of orders through the payment provider. Orders are learned from ordering's
-- events (never from its tables); a payment row is committed `processing` before the provider
-- is called, so a crash between the call and its outcome leaves a row the recovery sweep finds.
CREATE SCHEMA payments;

-- What payments knows of each order, from OrderPlaced / OrderConfirmed / OrderRejected /
-- OrderCancelled. Those arrive on separate lanes, in any order: a status only moves forward
-- (pending -> confirmed -> rejected|cancelled), and the amount comes with OrderConfirmed.
CREATE TABLE payments.orders (
    order_id    uuid PRIMARY KEY,
    user_id     uuid NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled')),
    total_cents bigint CHECK (total_cents > 0),
    currency    text CHECK (currency ~ '^[A-Z]{3}$'),
    updated_at  timestamptz NOT NULL,
    CHECK (status <> 'confirmed' OR (total_cents IS NOT NULL AND currency IS NOT NULL))
);

CREATE TABLE payments.payments (
    id                 uuid PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES payments.orders (order_id),
    user_id            uuid NOT NULL,
    amount_cents       bigint NOT NULL CHECK (amount_cents > 0),
    currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    payment_method     text NOT NULL,
    status             text NOT NULL
                       CHECK (status IN ('processing', 'succeeded', 'failed', 'refunded')),
    decline_code       text,
    provider_charge_id text,
    -- sha256 of (caller, Idempotency-Key) of the request that made it: a retry of that request
    -- finds its payment (409 in progress, or its final answer) instead of a conflict.
    request_key        bytea NOT NULL,
    -- A succeeded charge of an order that is (now) cancelled: the refund is owed until done.
    refund_due         boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK ((status = 'failed') OR decline_code IS NULL),
    CHECK (NOT refund_due OR status = 'succeeded')
);
-- The law of one charge per order: at most one payment that is charging or has charged.
-- Two concurrent payments with different keys: the second insert fails here, before any call.
CREATE UNIQUE INDEX payments_one_live_per_order ON payments.payments (order_id)
    WHERE status IN ('processing', 'succeeded');
CREATE INDEX payments_by_order ON payments.payments (order_id, id);
-- The recovery sweep's work list stays small: only unfinished payments are in it.
CREATE INDEX payments_unfinished ON payments.payments (updated_at)
    WHERE status = 'processing' OR refund_due;

-- Provider webhook events already handled: each event id takes effect once.
CREATE TABLE payments.webhook_events (
    event_id    text PRIMARY KEY,
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
