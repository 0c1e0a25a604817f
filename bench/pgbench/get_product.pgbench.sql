-- Mirrors the statement behind GET /v1/products/{id}: features/catalog/get_product/sql.py
-- (GET_PRODUCTS, the batched point read by primary key). Variable from the runner: ids (one
-- seeded product's id, as an array). "One raw query": what a request costs PostgreSQL alone.
@features.catalog.get_product.sql:GET_PRODUCTS ids
