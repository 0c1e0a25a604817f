DROP TABLE identity.login_failures_by_address;
ALTER TABLE identity.login_failures DROP COLUMN in_flight_until, DROP COLUMN in_flight;
