-- Mirrors POST /v1/orders: features/ordering/place_order/sql.py (PRICES from ordering's price
-- projection, then INSERT_ORDER: the order and its lines in one statement) inside the kernel's
-- idempotent transaction, shared/http/idempotency.py (pg_try_advisory_xact_lock, _FIND,
-- psycopg's savepoint, _SAVE), and shared/db/events.py (_PUBLISH of OrderPlaced, one delivery
-- per subscriber). Prepared (-M prepared), as psycopg prepares after two executions. The
-- runner passes -D caller, -D user_id, -D products, -D subscribers (OrderPlaced's, a text[]
-- literal) and -D channel. One line per order, as the HTTP scenario sends, a product picked
-- at random by its seeded SKU inside the statement (one index probe the app does not make:
-- it has the id from the body); the price and the order id come back with \gset, where the
-- app holds them already.
\set r random(1, 9000000000000000)
\set agg random(-2147483648, 2147483647)
\set n random(1, :products)
BEGIN;
SELECT pg_try_advisory_xact_lock(:r) AS locked;
SELECT endpoint, fingerprint, status, headers, body FROM kernel.idempotency_keys
WHERE caller = :caller AND key = 'pgb-' || :client_id || '-' || :r AND expires_at > now();
SAVEPOINT "_pg3_1";
SELECT product_id, price_cents, currency FROM ordering.product_prices
WHERE product_id = ANY(ARRAY[(SELECT id FROM catalog.products WHERE sku = 'SEED-' || :n)])
\gset
WITH placed AS (
    INSERT INTO ordering.orders (id, user_id, status, total_cents, currency, version,
                                 created_at, updated_at)
    VALUES (bench_uuid7(), :user_id, 'pending', :price_cents, :currency, 1, now(), now())
    RETURNING id
)
INSERT INTO ordering.order_lines (order_id, position, product_id, quantity, unit_price_cents)
SELECT placed.id, l.position - 1, l.product_id, l.quantity, l.unit_price_cents
FROM placed, unnest(ARRAY[:product_id]::uuid[], ARRAY[1]::integer[],
                    ARRAY[:price_cents]::bigint[]) WITH ORDINALITY
     AS l(product_id, quantity, unit_price_cents, position)
RETURNING order_id \gset
WITH lock AS (
    SELECT pg_advisory_xact_lock(1380011343, :agg)
), event AS (
    INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload, traceparent, occurred_at)
    SELECT bench_uuid7(), 'OrderPlaced', :order_id,
           '{"order_id": "00000000-0000-0000-0000-000000000000", "user_id": "00000000-0000-0000-0000-000000000000", "lines": [{"product_id": "00000000-0000-0000-0000-000000000000", "quantity": 1}]}',
           NULL, now()
    FROM lock
    RETURNING id, seq
), deliveries AS (
    INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id, seq)
    SELECT bench_uuid7(), event.id, s.subscriber, :order_id, event.seq
    FROM event, unnest(:subscribers::text[]) AS s(subscriber)
)
SELECT pg_notify(:channel, '') FROM event WHERE cardinality(:subscribers::text[]) > 0;
RELEASE SAVEPOINT "_pg3_1";
INSERT INTO kernel.idempotency_keys
    (caller, key, endpoint, fingerprint, status, headers, body, expires_at)
VALUES (:caller, 'pgb-' || :client_id || '-' || :r, 'POST /v1/orders',
        sha256(:r::text::bytea), 201, '[["content-type", "application/json"]]',
        '{"id": "00000000-0000-0000-0000-000000000000", "status": "pending", "items": [{"product_id": "00000000-0000-0000-0000-000000000000", "quantity": 1, "unit_price_cents": 1234}], "total_cents": 1234, "currency": "EUR", "version": 1}',
        now() + interval '24 hours')
ON CONFLICT (caller, key) DO UPDATE SET
    endpoint = excluded.endpoint, fingerprint = excluded.fingerprint, status = excluded.status,
    headers = excluded.headers, body = excluded.body, created_at = excluded.created_at,
    expires_at = excluded.expires_at;
COMMIT;
