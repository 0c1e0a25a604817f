-- Seed for adjust_stock.sql and update_product.sql: 200 products (ids 1..200 as UUIDs) and
-- their stock levels. Run once on a freshly migrated scratch database.
INSERT INTO catalog.products (id, sku, name, price_cents, currency, category, created_at,
                              updated_at)
SELECT ('00000000-0000-7000-8000-' || lpad(p::text, 12, '0'))::uuid, 'PGB-' || p, 'Seed', 100,
       'EUR', 'seed', now(), now()
FROM generate_series(1, 200) AS p;
INSERT INTO inventory.stock_levels (product_id)
SELECT ('00000000-0000-7000-8000-' || lpad(p::text, 12, '0'))::uuid
FROM generate_series(1, 200) AS p;
