-- Mirrors POST /v1/orders: features/ordering/place_order/sql.py (PRICES from ordering's price
-- projection, then INSERT_ORDER: the order and its lines in one statement) inside the kernel's
-- idempotent transaction (@@begin/@@end-idempotent), shared/http/idempotency.py
-- (pg_try_advisory_xact_lock, _FIND, psycopg's savepoint, _SAVE), with shared/db/events.py's
-- _PUBLISH_MANY of OrderPlaced (one delivery per subscriber) in the commit's pipeline.
-- Variables from the runner: caller, user_id, products, space, traceparent, subscriber_count.
-- Two lines, as the HTTP scenario sends: products n and m = n+1 (their ids and prices looked up
-- in the \gset query, where the app has the id from the body and the price from PRICES).
\set r random(1, 9000000000000000)
\set key random(-2147483648, 2147483647)
\set n random(1, :products)
\set m :n % :products + 1
SELECT s.*, bench_events('OrderPlaced', s.id, s.payload, :traceparent, :subscriber_count)
           AS events, json_build_array(:key::integer)::text AS keys
FROM (SELECT bench_uuid7() AS id, 'pending' AS status, p.price_cents + q.price_cents AS total_cents,
       p.currency, 1 AS version, now() AS created_at, now() AS updated_at,
       ARRAY[p.id, q.id] AS product_ids, ARRAY[1, 1] AS quantities,
       ARRAY[p.price_cents, q.price_cents] AS unit_prices,
       '{"order_id": "0196f0e2-0000-7000-8000-000000000000", "user_id": "0196f0e2-0000-7000-8000-000000000001", "lines": [{"product_id": "0196f0e2-0000-7000-8000-000000000002", "quantity": 1}, {"product_id": "0196f0e2-0000-7000-8000-000000000003", "quantity": 1}]}' AS payload,
       'pgb-' || :client_id || '-' || :r AS idem_key, 'POST /v1/orders' AS endpoint,
       sha256(:r::text::bytea) AS fingerprint, 201 AS answer_status,
       '[["content-type", "application/json"], ["location", "/v1/orders/0196f0e2-0000-7000-8000-000000000000"], ["etag", "\"1\""]]' AS headers,
       '{"id": "0196f0e2-0000-7000-8000-000000000000", "user_id": "0196f0e2-0000-7000-8000-000000000001", "status": "pending", "items": [{"product_id": "0196f0e2-0000-7000-8000-000000000002", "quantity": 1, "unit_price_cents": 1234}, {"product_id": "0196f0e2-0000-7000-8000-000000000003", "quantity": 1, "unit_price_cents": 1234}], "total_cents": 2468, "currency": "EUR", "rejection_reason": null, "version": 1, "created_at": "20261202T210000Z", "updated_at": "20261202T210000Z"}' AS body
FROM catalog.products p, catalog.products q
WHERE p.sku = 'SEED-' || :n AND q.sku = 'SEED-' || :m) AS s
\gset
@@begin-idempotent
@features.ordering.place_order.sql:PRICES product_ids
@features.ordering.place_order.sql:INSERT_ORDER
@@end-idempotent publishing
