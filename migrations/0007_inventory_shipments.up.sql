-- A reservation whose order shipped: on_hand and reserved both fell by its lines, once.
ALTER TABLE inventory.reservations ADD COLUMN shipped_at timestamptz;
ALTER TABLE inventory.reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE inventory.reservations ADD CONSTRAINT reservations_status_check
    CHECK (status IN ('reserved', 'rejected', 'released', 'shipped'));
ALTER TABLE inventory.reservations ADD CONSTRAINT reservations_shipped_at
    CHECK ((status = 'shipped') = (shipped_at IS NOT NULL));
