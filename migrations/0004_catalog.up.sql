-- catalog: the products for sale. Publishes ProductCreated and ProductUpdated.
CREATE SCHEMA catalog;

CREATE TABLE catalog.products (
    id          uuid PRIMARY KEY,               -- UUIDv7: time-ordered, the keyset for paging
    sku         text NOT NULL CHECK (sku ~ '^[A-Z0-9-]{1,64}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text CHECK (length(description) <= 5000),
    price_cents bigint NOT NULL CHECK (price_cents > 0),
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    category    text NOT NULL CHECK (length(category) BETWEEN 1 AND 64),
    -- Optimistic concurrency: every update is `WHERE id = .. AND version = ..` and bumps it.
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    -- A constraint, not a pre-check: two concurrent creates cannot both win.
    CONSTRAINT products_sku_unique UNIQUE (sku)
);
-- Serves `?category=` pages newest first: equality on category, keyset on id.
CREATE INDEX products_category_id ON catalog.products (category, id);
