-- ordering: orders and their lines, and ordering's own projection of catalog prices.
CREATE SCHEMA ordering;

-- What ordering knows of catalog prices, learned from ProductCreated / ProductUpdated (never
-- from catalog's tables). An update applies only when its version is newer, so the two event
-- lanes may arrive in any order and a redelivery changes nothing.
CREATE TABLE ordering.product_prices (
    product_id  uuid PRIMARY KEY,
    price_cents bigint NOT NULL CHECK (price_cents > 0),
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    version     integer NOT NULL CHECK (version >= 1),
    updated_at  timestamptz NOT NULL
);

-- Status moves only along the lifecycle in features/ordering/lifecycle.py; each move is one
-- guarded UPDATE (`WHERE status = ANY(<allowed sources>)`), so concurrent moves serialise on
-- the row and the loser sees the winner's status.
CREATE TABLE ordering.orders (
    id               uuid PRIMARY KEY,  -- UUIDv7: lists page newest first on it
    user_id          uuid NOT NULL,
    status           text NOT NULL CHECK (status IN
                     ('pending', 'confirmed', 'rejected', 'cancelled', 'paid', 'shipped')),
    -- At most 2^53 - 1, so every JSON reader reads the total exactly.
    total_cents      bigint NOT NULL CHECK (total_cents > 0 AND total_cents <= 9007199254740991),
    currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    rejection_reason text,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT orders_reason_iff_rejected CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL))
);
-- A customer's list (all, or one status) and an admin's list by status, newest first.
CREATE INDEX orders_user ON ordering.orders (user_id, id);
CREATE INDEX orders_user_status ON ordering.orders (user_id, status, id);
CREATE INDEX orders_status ON ordering.orders (status, id);

CREATE TABLE ordering.order_lines (
    order_id         uuid NOT NULL REFERENCES ordering.orders (id) ON DELETE CASCADE,
    position         smallint NOT NULL CHECK (position >= 0),  -- as the customer listed them
    product_id       uuid NOT NULL REFERENCES ordering.product_prices (product_id),
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents > 0),
    PRIMARY KEY (order_id, product_id)  -- a product appears once per order
);
