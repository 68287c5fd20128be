-- Sessions of the web console (docs/console.md): one row for each signed-in browser. The cookie
-- holds a random secret; only its SHA-256 is kept, so a copy of this table signs nobody in. A
-- session lasts at most 8 hours from sign-in and ends after 30 minutes without a request; it
-- ends at once with the token it was opened with (revoked or expired), which every request
-- checks through the join on api_tokens.
CREATE TABLE console_sessions (
    secret_hash  bytea       PRIMARY KEY CHECK (length(secret_hash) = 32),
    token_name   text        NOT NULL REFERENCES api_tokens (name),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX console_sessions_created_idx ON console_sessions (created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON console_sessions TO incident_app;
