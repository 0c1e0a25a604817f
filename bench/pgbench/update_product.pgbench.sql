-- Mirrors PATCH /v1/products/{product_id}: features/catalog/update_product/sql.py
-- (UPDATE_PRODUCT: the version check and the write in one statement) in Database.transaction
-- (BEGIN with the update, shared/db/events.py's _PUBLISH_MANY of ProductUpdated, one delivery
-- per subscriber, with the COMMIT: two round trips). Not the caches' invalidation, which Rampart
-- sends after the commit for many requests in one statement (bench/pgbench/README.md says why).
-- The request sends {"price_cents": 2345}: the other columns' parameters are NULL. Variables
-- from the runner: products (seeded as SEED-1 .. SEED-n), clients (pgbench's client count),
-- space, traceparent, subscriber_count. Client c owns the products c+1, c+1+clients, ...: no
-- two clients race for one version, and the version the \gset query reads is the one the
-- client would send in If-Match.
\set key random(-2147483648, 2147483647)
\set n 1 + :client_id + :clients * random(0, (:products - 1 - :client_id) / :clients)
SELECT s.*, bench_events('ProductUpdated', s.id, s.payload, :traceparent, :subscriber_count)
           AS events, json_build_array(:key::integer)::text AS keys
FROM (SELECT p.id, ARRAY[p.version] AS versions, false AS replace_description, 2345 AS price_cents,
       now() AS updated_at,
       '{"product_id": "0196f0e2-0000-7000-8000-000000000000", "name": "Seeded product 1", "description": "A product the bench made.", "price_cents": 2345, "currency": "EUR", "category": "category-1", "version": 2}' AS payload
FROM catalog.products p WHERE p.sku = 'SEED-' || :n) AS s
\gset
\startpipeline
BEGIN;
@features.catalog.update_product.sql:UPDATE_PRODUCT name=NULL description=NULL category=NULL
\endpipeline
@@commit publishing
