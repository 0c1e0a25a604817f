ALTER TABLE inventory.reservations DROP CONSTRAINT reservations_shipped_at;
ALTER TABLE inventory.reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE inventory.reservations ADD CONSTRAINT reservations_status_check
    CHECK (status IN ('reserved', 'rejected', 'released'));
ALTER TABLE inventory.reservations DROP COLUMN shipped_at;
