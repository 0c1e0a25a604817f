-- POST /v1/products as Rampart sends it: the idempotency kernel's lock, lookup and savepoint
-- in one pipeline; the slice's insert and publish() (advisory lock, event, one delivery, no
-- NOTIFY); then the stored outcome and COMMIT in one pipeline. Run as README.md says.
\set i :i + 1
\set lock random(1, 4000000000000000000)
\startpipeline
BEGIN;
SELECT pg_try_advisory_xact_lock(:lock::bigint) AS locked;
SELECT endpoint, fingerprint, status, headers, body FROM kernel.idempotency_keys
WHERE caller = :caller::text AND key = 'k-' || :run::text || '-' || :client_id::text || '-' || :i::text
  AND expires_at > now();
SAVEPOINT effect;
\endpipeline
INSERT INTO catalog.products (id, sku, name, description, price_cents, currency, category,
                              version, created_at, updated_at)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
         || substr(md5(random()::text), 1, 19))::uuid,
        'P' || :run::text || '-' || :client_id::text || '-' || :i::text, 'Bench product', NULL,
        1234, 'EUR', 'bench', 1, now(), now())
RETURNING id \gset
WITH lock AS (
    SELECT pg_advisory_xact_lock(1380011343, hashtext(:id::text))
), event AS (
    INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload, traceparent, occurred_at)
    SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
            || substr(md5(random()::text), 1, 19))::uuid, 'ProductCreated', :id::uuid,
           json_build_object('product_id', :id::uuid, 'sku', 'P', 'name', 'Bench product',
                             'description', NULL, 'price_cents', 1234, 'currency', 'EUR',
                             'category', 'bench')::jsonb, NULL, now()
    FROM lock
    RETURNING id, seq
), deliveries AS (
    INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id, seq)
    SELECT s.id, event.id, s.subscriber, :id::uuid, event.seq
    FROM event, unnest(ARRAY[gen_random_uuid()], ARRAY['inventory.track_product'])
                AS s(id, subscriber)
)
SELECT pg_notify('rampart_outbox_bench', '') FROM event WHERE false;
\startpipeline
INSERT INTO kernel.idempotency_keys
    (caller, key, endpoint, fingerprint, status, headers, body, expires_at)
VALUES (:caller::text, 'k-' || :run::text || '-' || :client_id::text || '-' || :i::text,
        'POST /v1/products', sha256('x'), 201,
        json_build_array(json_build_array('content-type', 'application/json'),
                         json_build_array('location', '/v1/products/x'))::jsonb,
        convert_to(repeat('x', 260), 'UTF8'), now() + interval '24 hours')
ON CONFLICT (caller, key) DO UPDATE SET
    endpoint = excluded.endpoint, fingerprint = excluded.fingerprint, status = excluded.status,
    headers = excluded.headers, body = excluded.body, created_at = excluded.created_at,
    expires_at = excluded.expires_at;
COMMIT;
\endpipeline
