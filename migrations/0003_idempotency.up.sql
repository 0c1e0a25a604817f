-- Idempotency-Key records: the stored outcome of a command, committed in the same transaction
-- as the command's effect (shared/http/idempotency.py).
CREATE TABLE kernel.idempotency_keys (
    caller      text NOT NULL,            -- "user:<id>" or "ip:<address>": keys are per caller
    key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    endpoint    text NOT NULL,            -- "POST /v1/products": a key names one request
    fingerprint bytea NOT NULL,           -- SHA-256 of the canonical request body
    status      smallint NOT NULL CHECK (status BETWEEN 200 AND 499),
    headers     jsonb NOT NULL,           -- [[name, value], ...] as the slice answered them
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (caller, key)
);
-- The purge deletes the oldest expired records in small batches.
CREATE INDEX idempotency_keys_expiry ON kernel.idempotency_keys (expires_at);
