-- Mirrors the statement behind GET /v1/products/{id}: features/catalog/get_product/sql.py
-- (GET_PRODUCTS, one batched point read by primary key), prepared. The runner passes
-- -D product_id (one seeded product). "One raw query": what a request costs PostgreSQL alone.
SELECT id, sku, name, description, price_cents, currency, category, version, created_at,
       updated_at
FROM catalog.products WHERE id = ANY(ARRAY[:product_id]::uuid[]);
