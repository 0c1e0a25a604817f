DROP TABLE identity.oidc_states;
DROP TABLE identity.oidc_identities;
DROP TABLE identity.api_keys;
-- Accounts without a password exist only through OpenID Connect, which this removes.
DELETE FROM identity.users WHERE password_hash IS NULL;
ALTER TABLE identity.users ALTER COLUMN password_hash SET NOT NULL;
