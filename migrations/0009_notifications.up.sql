-- notifications: what users are told (in the app, and by e-mail). Learns users from identity's
-- UserRegistered (never from its tables), orders and payments from their modules' events.
CREATE SCHEMA notifications;

-- Who a notification goes to: a projection of identity's users, fed by UserRegistered.
CREATE TABLE notifications.recipients (
    user_id    uuid PRIMARY KEY,
    email      text NOT NULL,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE notifications.notifications (
    id         uuid PRIMARY KEY,               -- UUIDv7: time-ordered, the keyset for paging
    user_id    uuid NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('welcome', 'order_confirmed', 'order_rejected',
                                             'order_shipped', 'payment_succeeded',
                                             'payment_refunded')),
    -- What the notification is about: the user (welcome), the order or the payment. One event
    -- is one notification: a redelivered event meets this constraint and writes nothing.
    source_id  uuid NOT NULL,
    subject    text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at timestamptz NOT NULL,
    CONSTRAINT notifications_once_per_event UNIQUE (kind, source_id)
);
-- Serves GET /v1/notifications: the caller's own, newest first (keyset on id).
CREATE INDEX notifications_user_id ON notifications.notifications (user_id, id);
