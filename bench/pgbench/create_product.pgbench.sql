-- Mirrors POST /v1/products: features/catalog/create_product/sql.py (INSERT_PRODUCT) inside the
-- kernel's idempotent transaction (@@begin/@@end-idempotent), shared/http/idempotency.py
-- (pg_try_advisory_xact_lock, _FIND, psycopg's savepoint, _SAVE), with shared/db/events.py's
-- _PUBLISH_MANY of ProductCreated (one delivery per subscriber) in the commit's pipeline.
-- Variables from the runner: caller, space, traceparent, subscriber_count.
\set r random(1, 9000000000000000)
\set key random(-2147483648, 2147483647)
SELECT s.*, bench_events('ProductCreated', s.id, s.payload, :traceparent, :subscriber_count)
           AS events, json_build_array(:key::integer)::text AS keys
FROM (SELECT bench_uuid7() AS id, 'PGB-' || :client_id || '-' || :r AS sku,
       'Pgbench product' AS name, 'A product pgbench made.' AS description,
       1234 AS price_cents, 'EUR' AS currency, 'bench' AS category, 1 AS version,
       now() AS created_at, now() AS updated_at,
       '{"product_id": "0196f0e2-0000-7000-8000-000000000000", "sku": "PGB-1", "name": "Pgbench product", "description": "A product pgbench made.", "price_cents": 1234, "currency": "EUR", "category": "bench"}' AS payload,
       'pgb-' || :client_id || '-' || :r AS idem_key, 'POST /v1/products' AS endpoint,
       sha256(:r::text::bytea) AS fingerprint, 201 AS answer_status,
       '[["content-type", "application/json"], ["location", "/v1/products/0196f0e2-0000-7000-8000-000000000000"], ["etag", "\"1\""]]' AS headers,
       '{"id": "0196f0e2-0000-7000-8000-000000000000", "sku": "PGB-1", "name": "Pgbench product", "description": "A product pgbench made.", "price_cents": 1234, "currency": "EUR", "category": "bench", "version": 1, "created_at": "20261202T210000Z", "updated_at": "20261202T210000Z"}' AS body) AS s
\gset
@@begin-idempotent
@features.catalog.create_product.sql:INSERT_PRODUCT
@@end-idempotent publishing
