-- The outbox's deliveries change state thousands of times a second under load; the defaults
-- (vacuum once a fifth of the table is dead) would let dead rows and dead entries of the
-- partial indexes pile up for minutes, and every claim walks past them. Vacuum and analyze
-- once 1% (at least 1,000 rows) has changed.
ALTER TABLE kernel.outbox_deliveries SET (
    autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 1000);
