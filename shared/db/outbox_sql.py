"""The SQL the outbox relay runs: claim, acknowledge, fail, release, housekeeping, stats.

Ordering model. A lane is one (subscriber, aggregate) pair. Publishers of one aggregate hold
an advisory lock until they commit and draw the event's `seq` under it (shared/db/events.py),
so within a lane seq order is commit order and a larger seq never becomes visible before a
smaller one. The claim below takes only the head of each lane: a delivery whose earlier lane
mates are all done. A leased, retrying or dead delivery therefore holds back the rest of its
lane (a dead letter until an admin retries it) and nothing else; unrelated lanes keep flowing.
Because the head check reads only committed rows, two relays can never hold two deliveries of
one lane at once, and a lane's next delivery starts after the previous handler committed.
"""

# FOR UPDATE SKIP LOCKED lets relays claim side by side without waiting on each other. The
# lease makes a claim survive its own short transaction; an expired lease (its relay died)
# is claimable again. `attempts` counts claims, so a handler that kills its process still
# reaches the attempt limit.
#
# The claim and the acknowledgement commit without waiting for the WAL flush (ASYNC_COMMIT,
# evaluated in their WHERE so it costs no statement of its own): the relay's commits then
# leave the flushes to the writers whose clients wait for them. A database crash may forget
# the last fraction of a second of them, never half of one: an acknowledgement is lost with
# its handler's effects (one transaction), so the delivery runs again and takes effect once;
# a lost claim only hands its deliveries back. Whatever a later synchronous commit builds on
# them is flushed with it, the WAL being one sequence.
ASYNC_COMMIT = "set_config('synchronous_commit', 'off', true) IS NOT NULL"
# The claim walks the due index in order with a plain index scan, which marks the entries of
# deliveries done since the last vacuum as dead as it passes them, so that the next claim skips
# them. A bitmap scan (what the planner picks when its row estimate is stale, as it always is
# for a table this busy) marks nothing and reads every one of them each time: measured with a
# few thousand due and 45,000 dead entries, 20 ms a claim, 5.6 ms for a claim that finds
# nothing; 0.9 ms once the scan marks them.
CLAIM_PLAN = "SELECT set_config('enable_bitmapscan', 'off', true)"
# Claimable: due, not leased, attempts left, a subscriber of this build, the head of its lane.
CLAIMABLE = """
    d.state = 'pending'
      AND d.next_attempt_at <= now()
      AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= now())
      AND d.attempts < %(max_attempts)s
      AND d.subscriber = ANY(%(subscribers)s)
      AND NOT EXISTS (
          SELECT 1 FROM kernel.outbox_deliveries earlier
          WHERE earlier.subscriber = d.subscriber AND earlier.aggregate_id = d.aggregate_id
            AND earlier.seq < d.seq AND earlier.state <> 'done')"""
CLAIM = f"""
WITH due AS MATERIALIZED (
    SELECT d.id
    FROM kernel.outbox_deliveries d
    WHERE {CLAIMABLE}
    ORDER BY d.next_attempt_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE kernel.outbox_deliveries d
    SET lease_token = %(token)s,
        lease_expires_at = now() + make_interval(secs => %(lease_seconds)s),
        attempts = d.attempts + 1,
        last_attempt_at = now()
    FROM due
    WHERE d.id = due.id AND {ASYNC_COMMIT}
    RETURNING d.id, d.event_id, d.subscriber, d.attempts, d.seq
)
SELECT c.id, c.event_id, c.subscriber, c.attempts, e.type, e.payload::text AS payload,
       e.traceparent
FROM claimed c JOIN kernel.outbox_events e ON e.id = c.event_id
ORDER BY c.seq"""

# The mark commits with the handler's effects, or rolls back with them, and marks only
# deliveries whose lease is still ours. Alone, it runs first in the handler's transaction and
# row-locks the delivery, so no other relay can claim it while the handler runs, however long
# that is. For a group of deliveries in one transaction it runs last (shared/db/relay.py).
#
# Only a pending delivery ever holds a lease token (acknowledging, failing, releasing and
# reaping all clear it), so the token alone says "pending and still ours". Saying
# `state = 'pending'` as well would let the generic plan of the prepared statement AND the
# primary key with the partial due index, a scan of every due delivery (measured: 6 ms an
# acknowledgement with 1,400 due, against 0.02 ms by the primary key alone).
ACK = f"""
UPDATE kernel.outbox_deliveries
SET state = 'done', done_at = now(), lease_token = NULL, lease_expires_at = NULL
WHERE id = ANY(%s) AND lease_token = %s AND {ASYNC_COMMIT}"""

FAIL = """
UPDATE kernel.outbox_deliveries
SET state = %(state)s, next_attempt_at = now() + make_interval(secs => %(delay)s),
    last_error = %(error)s, lease_token = NULL, lease_expires_at = NULL
WHERE id = %(id)s AND lease_token = %(token)s"""

# The heartbeat: a live relay keeps its claim for another lease. Rows its own handlers have
# locked (a single delivery marks itself done first) are skipped, not waited for: the lock
# already keeps every other relay off them, and their transaction settles their lease.
# (The token alone says "pending", as for ACK.)
RENEW = """
UPDATE kernel.outbox_deliveries
SET lease_expires_at = now() + make_interval(secs => %(lease_seconds)s)
WHERE id IN (SELECT id FROM kernel.outbox_deliveries
             WHERE id = ANY(%(ids)s) AND lease_token = %(token)s
             FOR UPDATE SKIP LOCKED)"""

# Claimed but not finished (the relay is stopping, or the lease ran out first): hand back at
# once; the attempt is not counted (uncount = 1) unless the handler ran (uncount = 0).
RELEASE = """
UPDATE kernel.outbox_deliveries
SET lease_token = NULL, lease_expires_at = NULL, attempts = attempts - %(uncount)s
WHERE id = ANY(%(ids)s) AND lease_token = %(token)s"""

# How far behind the relays are: how long the oldest claimable delivery has been due (0 when
# none is). Only lane heads count, so a lane held back by a dead letter or a retry's backoff
# does not make the relays look behind (shared/http/pacing.py reads it).
LAG = f"""
SELECT coalesce(extract(epoch FROM now() - min(d.next_attempt_at)), 0)::float8 AS seconds
FROM (SELECT d.next_attempt_at FROM kernel.outbox_deliveries d
      WHERE {CLAIMABLE}
      ORDER BY d.next_attempt_at
      LIMIT 1) d"""

# After the claim, in its transaction: how long the loop may sleep before a retry falls due
# (`seconds`; a NOTIFY only announces new events), and whether anything is due now besides this
# claim's own deliveries (`more`: a lane mate behind a claimed head, or a delivery another relay
# holds or skipped). A relay whose batch all took effect and that heard of nothing new meanwhile
# sleeps on these instead of claiming once more for nothing.
NEXT_DUE = """
SELECT (SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
        FROM kernel.outbox_deliveries
        WHERE state = 'pending' AND next_attempt_at > now() AND subscriber = ANY(%(subscribers)s)
       ) AS seconds,
       EXISTS (SELECT 1 FROM kernel.outbox_deliveries
               WHERE state = 'pending' AND next_attempt_at <= now()
                 AND subscriber = ANY(%(subscribers)s)
                 AND lease_token IS DISTINCT FROM %(token)s) AS more"""

# A relay died during a delivery's last allowed attempt: nobody may claim it again.
REAP = """
UPDATE kernel.outbox_deliveries
SET state = 'dead', lease_token = NULL, lease_expires_at = NULL,
    last_error = 'the relay stopped during the last attempt (lease expired)'
WHERE state = 'pending' AND attempts >= %s AND lease_expires_at <= now()"""

# Both purges walk the UUIDv7 primary key up to the cutoff id, one batch at a time.
PURGE_DELIVERIES = """
DELETE FROM kernel.outbox_deliveries WHERE id IN (
    SELECT id FROM kernel.outbox_deliveries
    WHERE id < %(cutoff_id)s AND state = 'done' AND done_at < %(cutoff)s
    ORDER BY id LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED)"""

PURGE_EVENTS = """
DELETE FROM kernel.outbox_events WHERE id IN (
    SELECT e.id FROM kernel.outbox_events e
    WHERE e.id < %(cutoff_id)s AND e.occurred_at < %(cutoff)s
      AND NOT EXISTS (SELECT 1 FROM kernel.outbox_deliveries d WHERE d.event_id = e.id)
    ORDER BY e.id LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED)"""

# Pending deliveries of subscribers this build does not have (one was removed or renamed, or a
# newer build added it during a rolling deploy) are "orphaned": nobody here can deliver them,
# so they are counted apart and kept out of the due age that alerts watch.
STATS = """
SELECT count(*) FILTER (WHERE state = 'pending' AND subscriber = ANY(%(subscribers)s))
           AS pending,
       count(*) FILTER (WHERE state = 'pending' AND subscriber <> ALL(%(subscribers)s))
           AS orphaned,
       count(*) FILTER (WHERE state = 'dead') AS dead,
       coalesce(extract(epoch FROM now() - min(next_attempt_at)
                FILTER (WHERE state = 'pending' AND next_attempt_at <= now()
                        AND subscriber = ANY(%(subscribers)s))), 0)::float8
           AS oldest_due_age
FROM kernel.outbox_deliveries
WHERE state <> 'done'"""

ORPHANED = """
SELECT subscriber, count(*) AS deliveries FROM kernel.outbox_deliveries
WHERE state = 'pending' AND subscriber <> ALL(%s)
GROUP BY subscriber ORDER BY subscriber"""
