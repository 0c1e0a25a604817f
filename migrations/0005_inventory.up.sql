-- inventory: stock per product, learned from catalog's ProductCreated (never from its tables).
CREATE SCHEMA inventory;

CREATE TABLE inventory.stock_levels (
    product_id uuid PRIMARY KEY,
    on_hand    bigint NOT NULL DEFAULT 0,
    reserved   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The database, not the code, keeps stock sane: concurrent adjustments and reservations
    -- serialise on the row and the loser fails this check instead of going negative.
    CONSTRAINT stock_reserved_non_negative CHECK (reserved >= 0),
    CONSTRAINT stock_covers_reserved CHECK (on_hand >= reserved)
);

-- Every manual adjustment, with its reason: the audit trail behind on_hand.
CREATE TABLE inventory.adjustments (
    id         uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES inventory.stock_levels (product_id),
    delta      bigint NOT NULL CHECK (delta <> 0),
    reason     text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL
);
CREATE INDEX adjustments_product ON inventory.adjustments (product_id, id);

-- Reservations for orders (filled when ordering arrives). Keyed by the order id, so handling a
-- redelivered OrderPlaced or OrderCancelled finds the existing row and changes nothing twice:
-- reserve inserts the order (ON CONFLICT DO NOTHING), release flips 'reserved' to 'released'
-- once. 'rejected' remembers that an order could not be served, so a redelivery stays rejected.
CREATE TABLE inventory.reservations (
    order_id    uuid PRIMARY KEY,
    status      text NOT NULL CHECK (status IN ('reserved', 'rejected', 'released')),
    created_at  timestamptz NOT NULL,
    released_at timestamptz,
    CHECK ((status = 'released') = (released_at IS NOT NULL))
);

CREATE TABLE inventory.reservation_lines (
    order_id   uuid NOT NULL REFERENCES inventory.reservations (order_id) ON DELETE CASCADE,
    product_id uuid NOT NULL REFERENCES inventory.stock_levels (product_id),
    quantity   bigint NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX reservation_lines_product ON inventory.reservation_lines (product_id);
