-- Mirrors POST /v1/inventory/{product_id}/adjustments: features/inventory/adjust_stock/sql.py
-- (APPLY_ADJUSTMENT: the stock row update and its audit row in one statement) inside the
-- kernel's idempotent transaction, shared/http/idempotency.py (pg_try_advisory_xact_lock,
-- _FIND, psycopg's savepoint, _SAVE). No event is published by this slice. Prepared
-- (-M prepared), as psycopg prepares after two executions. The runner passes -D caller and
-- -D products (how many were seeded as SEED-1 .. SEED-n); the product is picked at random,
-- as the HTTP scenario spreads over every product, and found by its SKU inside the statement:
-- one index probe the app does not make (it has the id from the path).
\set r random(1, 9000000000000000)
\set n random(1, :products)
BEGIN;
SELECT pg_try_advisory_xact_lock(:r) AS locked;
SELECT endpoint, fingerprint, status, headers, body FROM kernel.idempotency_keys
WHERE caller = :caller AND key = 'pgb-' || :client_id || '-' || :r AND expires_at > now();
SAVEPOINT "_pg3_1";
WITH adjusted AS (
    UPDATE inventory.stock_levels
    SET on_hand = on_hand + 1, updated_at = now()
    WHERE product_id = (SELECT id FROM catalog.products WHERE sku = 'SEED-' || :n)
    RETURNING product_id, on_hand, reserved
), logged AS (
    INSERT INTO inventory.adjustments (id, product_id, delta, reason, created_at)
    SELECT bench_uuid7(), product_id, 1, 'pgbench', now() FROM adjusted
)
SELECT product_id, on_hand, reserved FROM adjusted;
RELEASE SAVEPOINT "_pg3_1";
INSERT INTO kernel.idempotency_keys
    (caller, key, endpoint, fingerprint, status, headers, body, expires_at)
VALUES (:caller, 'pgb-' || :client_id || '-' || :r, 'POST /v1/inventory/x/adjustments',
        sha256(:r::text::bytea), 201, '[["content-type", "application/json"]]',
        '{"product_id": "00000000-0000-0000-0000-000000000000", "on_hand": 1, "reserved": 0, "available": 1}',
        now() + interval '24 hours')
ON CONFLICT (caller, key) DO UPDATE SET
    endpoint = excluded.endpoint, fingerprint = excluded.fingerprint, status = excluded.status,
    headers = excluded.headers, body = excluded.body, created_at = excluded.created_at,
    expires_at = excluded.expires_at;
COMMIT;
