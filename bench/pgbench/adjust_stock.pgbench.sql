-- Mirrors POST /v1/inventory/{product_id}/adjustments: features/inventory/adjust_stock/sql.py
-- (APPLY_ADJUSTMENT: the stock row and its audit row in one statement) inside the kernel's
-- idempotent transaction (@@begin/@@end-idempotent), shared/http/idempotency.py
-- (pg_try_advisory_xact_lock, _FIND, psycopg's savepoint, _SAVE); the slice publishes no event.
-- Variables from the runner: caller, products (seeded as SEED-1 .. SEED-n). A product at
-- random, as the HTTP scenario spreads over all of them, its id looked up by SKU in the \gset
-- query.
\set r random(1, 9000000000000000)
\set n random(1, :products)
SELECT bench_uuid7() AS id, (SELECT id FROM catalog.products WHERE sku = 'SEED-' || :n)
           AS product_id, 1 AS delta, 'bench' AS reason, now() AS created_at,
       'pgb-' || :client_id || '-' || :r AS idem_key,
       'POST /v1/inventory/x/adjustments' AS endpoint, sha256(:r::text::bytea) AS fingerprint,
       201 AS answer_status,
       '[["content-type", "application/json"], ["content-location", "/v1/inventory/0196f0e2-0000-7000-8000-000000000000"]]' AS headers,
       '{"product_id": "0196f0e2-0000-7000-8000-000000000000", "on_hand": 1000000001, "reserved": 0, "available": 1000000001}' AS body
\gset
@@begin-idempotent
@features.inventory.adjust_stock.sql:APPLY_ADJUSTMENT
@@end-idempotent
