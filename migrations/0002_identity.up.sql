-- identity: users, refresh-token families, failed-login counters.
CREATE SCHEMA identity;

CREATE TABLE identity.users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role          text NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness is the database's job, not a pre-check's: no race can beat it.
CREATE UNIQUE INDEX users_email_unique ON identity.users (lower(email));

-- Refresh tokens are opaque; only their SHA-256 is stored. Tokens of one login share a family:
-- each refresh spends one token and issues the next; presenting a spent one revokes the family.
CREATE TABLE identity.refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON identity.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON identity.refresh_tokens (user_id);

-- Failed logins per (email, client address) in a fixed window; shared by every server process.
CREATE TABLE identity.login_failures (
    email            text NOT NULL,
    client_ip        text NOT NULL,
    failures         integer NOT NULL CHECK (failures >= 0),
    window_started_at timestamptz NOT NULL,
    PRIMARY KEY (email, client_ip)
);
