-- API tokens: random, shown once, stored only as a SHA-256 hash; revocable, optionally expiring.
CREATE TABLE api_tokens (
    name       text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    role       text NOT NULL CHECK (role IN ('reporter', 'reviewer', 'analyst', 'admin')),
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);

GRANT SELECT, INSERT, UPDATE ON api_tokens TO incident_app;
