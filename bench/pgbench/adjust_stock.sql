-- POST /v1/inventory/{id}/adjustments as Rampart sends it: the idempotency kernel's pipeline,
-- the slice's one statement (update + audit row), the stored outcome and COMMIT. Needs
-- setup.sql's products. Run as README.md says.
\set i :i + 1
\set p random(1, 200)
\set lock random(1, 4000000000000000000)
\startpipeline
BEGIN;
SELECT pg_try_advisory_xact_lock(:lock::bigint) AS locked;
SELECT endpoint, fingerprint, status, headers, body FROM kernel.idempotency_keys
WHERE caller = :caller::text AND key = 'a-' || :run::text || '-' || :client_id::text || '-' || :i::text
  AND expires_at > now();
SAVEPOINT effect;
\endpipeline
WITH adjusted AS (
    UPDATE inventory.stock_levels
    SET on_hand = on_hand + 1, updated_at = now()
    WHERE product_id = ('00000000-0000-7000-8000-' || lpad(:p::text, 12, '0'))::uuid
    RETURNING product_id, on_hand, reserved
), logged AS (
    INSERT INTO inventory.adjustments (id, product_id, delta, reason, created_at)
    SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
            || substr(md5(random()::text), 1, 19))::uuid, product_id, 1, 'bench', now()
    FROM adjusted
)
SELECT product_id, on_hand, reserved FROM adjusted;
\startpipeline
INSERT INTO kernel.idempotency_keys
    (caller, key, endpoint, fingerprint, status, headers, body, expires_at)
VALUES (:caller::text, 'a-' || :run::text || '-' || :client_id::text || '-' || :i::text,
        'POST /v1/inventory/x/adjustments', sha256('x'), 201,
        json_build_array(json_build_array('content-type', 'application/json'),
                         json_build_array('content-location', '/v1/inventory/x'))::jsonb,
        convert_to(repeat('x', 90), 'UTF8'), now() + interval '24 hours')
ON CONFLICT (caller, key) DO UPDATE SET
    endpoint = excluded.endpoint, fingerprint = excluded.fingerprint, status = excluded.status,
    headers = excluded.headers, body = excluded.body, created_at = excluded.created_at,
    expires_at = excluded.expires_at;
COMMIT;
\endpipeline
