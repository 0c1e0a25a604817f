-- identity: API keys for programs, and sign-in through OpenID Connect providers.

-- An account made by an OpenID Connect sign-in has no password: it cannot log in with one
-- (issue_token verifies against a dummy hash), and it is the only kind an IdP may link to.
ALTER TABLE identity.users ALTER COLUMN password_hash DROP NOT NULL;

-- Only the SHA-256 of a key's secret is kept: the secret carries 256 random bits, so a fast
-- hash is enough (nothing to brute-force) and verification stays cheap. `prefix` is the public
-- start of the secret, shown in lists so a person can tell keys apart, and used for look-up.
CREATE TABLE identity.api_keys (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role         text NOT NULL CHECK (role IN ('customer', 'admin')),
    prefix       text NOT NULL UNIQUE CHECK (length(prefix) BETWEEN 8 AND 16),
    key_hash     bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK (expires_at IS NULL OR expires_at > created_at)
);
CREATE INDEX api_keys_user ON identity.api_keys (user_id, id);

-- One row per (provider, subject): the IdP's stable id of a person, linked to one account.
CREATE TABLE identity.oidc_identities (
    provider   text NOT NULL,
    subject    text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id    uuid NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    email      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oidc_identities_user ON identity.oidc_identities (user_id);

-- A sign-in in progress: the state sent to the provider, and what the callback needs to
-- finish it. `browser_hash` is the SHA-256 of the HttpOnly cookie given to the browser that
-- started it, so a callback from any other browser fails. Deleted when used: single use.
CREATE TABLE identity.oidc_states (
    state_hash    bytea PRIMARY KEY,
    browser_hash  bytea NOT NULL,
    provider      text NOT NULL,
    redirect_uri  text NOT NULL,
    nonce         text NOT NULL,
    code_verifier text NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX oidc_states_expiry ON identity.oidc_states (expires_at);
