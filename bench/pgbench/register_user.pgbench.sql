-- Mirrors POST /v1/users without argon2: features/identity/register_user/sql.py (INSERT_USER)
-- in Database.transaction (BEGIN with the insert, shared/db/events.py's _PUBLISH_MANY of
-- UserRegistered, one delivery per subscriber, with the COMMIT: two round trips). The hash is
-- the seeded users' stored one (password_hash): pwdlib's hash rate is measured apart, and the
-- report shows both. Variables from the runner: password_hash, space, traceparent,
-- subscriber_count. A fresh e-mail per transaction, as the HTTP scenario sends.
\set r random(1, 9000000000000000)
\set key random(-2147483648, 2147483647)
SELECT s.*, bench_events('UserRegistered', s.id, s.payload, :traceparent, :subscriber_count)
           AS events, json_build_array(:key::integer)::text AS keys
FROM (SELECT bench_uuid7() AS id, 'pgb-' || :client_id || '-' || :r || '@example.com' AS email,
       'Bench' AS name, 'customer' AS role, now() AS created_at,
       '{"user_id": "0196f0e2-0000-7000-8000-000000000000", "email": "pgb-1@example.com", "name": "Bench"}' AS payload) AS s
\gset
\startpipeline
BEGIN;
@features.identity.register_user.sql:INSERT_USER
\endpipeline
@@commit publishing
