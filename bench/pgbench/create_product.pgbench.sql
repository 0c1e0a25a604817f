-- Mirrors POST /v1/products: features/catalog/create_product/sql.py (INSERT_PRODUCT) inside the
-- kernel's idempotent transaction, shared/http/idempotency.py (pg_try_advisory_xact_lock,
-- _FIND, psycopg's savepoint, _SAVE), and shared/db/events.py (_PUBLISH of ProductCreated,
-- one delivery per subscriber). The same round trips in the same order, prepared (-M prepared,
-- as psycopg prepares after two executions). The runner passes -D caller, -D subscribers
-- (ProductCreated's subscribers, a text[] literal) and -D channel; bench_uuid7() is the
-- runner's time-ordered id, standing in for the app's UUIDv7. The product id comes back from
-- the INSERT (\gset) where the app knows it already: the only added work.
\set r random(1, 9000000000000000)
\set agg random(-2147483648, 2147483647)
BEGIN;
SELECT pg_try_advisory_xact_lock(:r) AS locked;
SELECT endpoint, fingerprint, status, headers, body FROM kernel.idempotency_keys
WHERE caller = :caller AND key = 'pgb-' || :client_id || '-' || :r AND expires_at > now();
SAVEPOINT "_pg3_1";
INSERT INTO catalog.products (id, sku, name, description, price_cents, currency, category,
                              version, created_at, updated_at)
VALUES (bench_uuid7(), 'PGB-' || :client_id || '-' || :r, 'Pgbench product', NULL, 1234,
        'EUR', 'bench', 1, now(), now())
RETURNING id AS product_id \gset
WITH lock AS (
    SELECT pg_advisory_xact_lock(1380011343, :agg)
), event AS (
    INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload, traceparent, occurred_at)
    SELECT bench_uuid7(), 'ProductCreated', :product_id,
           '{"product_id": "00000000-0000-0000-0000-000000000000", "sku": "PGB-1", "name": "Pgbench product", "description": null, "price_cents": 1234, "currency": "EUR", "category": "bench"}',
           NULL, now()
    FROM lock
    RETURNING id, seq
), deliveries AS (
    INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id, seq)
    SELECT bench_uuid7(), event.id, s.subscriber, :product_id, event.seq
    FROM event, unnest(:subscribers::text[]) AS s(subscriber)
)
SELECT pg_notify(:channel, '') FROM event WHERE cardinality(:subscribers::text[]) > 0;
RELEASE SAVEPOINT "_pg3_1";
INSERT INTO kernel.idempotency_keys
    (caller, key, endpoint, fingerprint, status, headers, body, expires_at)
VALUES (:caller, 'pgb-' || :client_id || '-' || :r, 'POST /v1/products',
        sha256(:r::text::bytea), 201, '[["content-type", "application/json"]]',
        '{"id": "00000000-0000-0000-0000-000000000000", "sku": "PGB-1", "name": "Pgbench product", "description": null, "price_cents": 1234, "currency": "EUR", "category": "bench", "version": 1}',
        now() + interval '24 hours')
ON CONFLICT (caller, key) DO UPDATE SET
    endpoint = excluded.endpoint, fingerprint = excluded.fingerprint, status = excluded.status,
    headers = excluded.headers, body = excluded.body, created_at = excluded.created_at,
    expires_at = excluded.expires_at;
COMMIT;
