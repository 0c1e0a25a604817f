-- Mirrors POST /v1/users without argon2: features/identity/register_user/sql.py (INSERT_USER)
-- in Database.transaction (BEGIN, COMMIT), with shared/db/events.py's _PUBLISH of
-- UserRegistered (one delivery per subscriber). The hash is the seeded users' stored one
-- (password_hash): pwdlib's hash rate is measured apart, and the report shows both.
-- Variables from the runner: password_hash, subscribers, channel, space, traceparent,
-- subscriber_count, notify. A fresh e-mail per transaction, as the HTTP scenario sends.
\set r random(1, 9000000000000000)
\set key random(-2147483648, 2147483647)
SELECT bench_uuid7() AS id, 'pgb-' || :client_id || '-' || :r || '@example.com' AS email,
       'Bench' AS name, 'customer' AS role, now() AS created_at, now() AS occurred_at,
       bench_uuid7() AS event_id, 'UserRegistered' AS type,
       '{"user_id": "0196f0e2-0000-7000-8000-000000000000", "email": "pgb-1@example.com", "name": "Bench"}' AS payload,
       ARRAY(SELECT bench_uuid7() FROM generate_series(1, :subscriber_count)) AS delivery_ids
\gset
BEGIN;
@features.identity.register_user.sql:INSERT_USER
@shared.db.events:_PUBLISH id=event_id aggregate_id=id
COMMIT;
