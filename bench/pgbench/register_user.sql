-- POST /v1/users as Rampart sends it, argon2 left out (the hash is a fixed string; the HTTP
-- figure for this command is reported apart for that reason): BEGIN, the insert, publish()
-- (UserRegistered has no subscriber in this build), COMMIT. Run as README.md says.
\set i :i + 1
BEGIN;
INSERT INTO identity.users (id, email, name, role, password_hash, created_at)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
         || substr(md5(random()::text), 1, 19))::uuid,
        'u' || :run::text || '-' || :client_id::text || '-' || :i::text || '@example.com',
        'Bench', 'customer',
        '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
        now())
RETURNING id, email, name, role, created_at \gset
WITH lock AS (
    SELECT pg_advisory_xact_lock(1380011343, hashtext(:id::text))
), event AS (
    INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload, traceparent, occurred_at)
    SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
            || substr(md5(random()::text), 1, 19))::uuid, 'UserRegistered', :id::uuid,
           json_build_object('user_id', :id::uuid, 'email', :email::text, 'name', 'Bench')::jsonb,
           NULL, now()
    FROM lock
    RETURNING id, seq
), deliveries AS (
    INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id, seq)
    SELECT s.id, event.id, s.subscriber, :id::uuid, event.seq
    FROM event, unnest(ARRAY[]::uuid[], ARRAY[]::text[]) AS s(id, subscriber)
)
SELECT pg_notify('rampart_outbox_bench', '') FROM event WHERE false;
COMMIT;
