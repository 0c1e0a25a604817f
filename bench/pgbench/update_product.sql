-- PATCH /v1/products/{id} as Rampart sends it: BEGIN, the versioned update, publish()
-- (ProductUpdated has no subscriber in this build: an event row, no delivery), COMMIT. pgbench
-- cannot know the version it saw, so the version check compares the row with itself (same
-- plan: the primary key, then a filter). Needs setup.sql's products. Run as README.md says.
\set p random(1, 200)
BEGIN;
UPDATE catalog.products SET
    name = coalesce(NULL, name),
    description = CASE WHEN false THEN NULL ELSE description END,
    price_cents = coalesce(1000 + :p, price_cents),
    category = coalesce(NULL, category),
    version = version + 1,
    updated_at = now()
WHERE id = ('00000000-0000-7000-8000-' || lpad(:p::text, 12, '0'))::uuid
  AND version = ANY(ARRAY[version])
RETURNING id, sku, name, description, price_cents, currency, category, version, created_at,
          updated_at \gset
WITH lock AS (
    SELECT pg_advisory_xact_lock(1380011343, hashtext(:id::text))
), event AS (
    INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload, traceparent, occurred_at)
    SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
            || substr(md5(random()::text), 1, 19))::uuid, 'ProductUpdated', :id::uuid,
           json_build_object('product_id', :id::uuid, 'name', 'Seed', 'description', NULL,
                             'price_cents', 1000 + :p, 'currency', 'EUR', 'category', 'seed',
                             'version', :version::int)::jsonb, NULL, now()
    FROM lock
    RETURNING id, seq
), deliveries AS (
    INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id, seq)
    SELECT s.id, event.id, s.subscriber, :id::uuid, event.seq
    FROM event, unnest(ARRAY[]::uuid[], ARRAY[]::text[]) AS s(id, subscriber)
)
SELECT pg_notify('rampart_outbox_bench', '') FROM event WHERE false;
COMMIT;
