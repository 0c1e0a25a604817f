-- Failed logins: attempts in flight per (email, client address), so that concurrent guesses
-- cannot slip past the limit without refusing a right password; and failures per client
-- address whatever the e-mail, against password spraying.
ALTER TABLE identity.login_failures
    ADD COLUMN in_flight integer NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    -- A crashed server never gives its reservations back: they lapse at this time.
    ADD COLUMN in_flight_until timestamptz;

CREATE TABLE identity.login_failures_by_address (
    client_ip         text PRIMARY KEY,
    failures          integer NOT NULL CHECK (failures >= 0),
    window_started_at timestamptz NOT NULL
);
