-- Keys are stored only wrapped by the master key, which lives in a file outside the database
-- (incidentd --master-key-file): a dump of the database, a replica or a WAL archive alone opens
-- no personal data and no sealed text. Each wrapped key is bound (AES-GCM associated data) to its
-- purpose, its incident and the id of the master key that wraps it.
--
-- One row per incident, purpose and generation: a redaction replaces an incident's narrative key
-- with a new generation; an erasure deletes the key.
CREATE TABLE incident_keys (
    incident_id   uuid        NOT NULL,
    purpose       text        NOT NULL CHECK (purpose IN ('personal', 'narrative')),
    generation    integer     NOT NULL DEFAULT 1 CHECK (generation > 0),
    master_key_id text        NOT NULL CHECK (master_key_id ~ '^[0-9a-f]{16}$'),
    -- 92 bytes: a key made today (64 bytes, see Sealing); 60: a personal key of an earlier version.
    wrapped_key   bytea       NOT NULL CHECK (length(wrapped_key) IN (60, 92)),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, purpose, generation)
);
-- Rotation re-wraps keys in place, as the owner; the daemon never changes a stored key.
GRANT SELECT, INSERT, DELETE ON incident_keys TO incident_app;

-- The server's X25519 key pairs of the sealed offline outbox; the private key only wrapped.
-- A retired key still opens envelopes sealed to it (for 90 days).
CREATE TABLE outbox_keys (
    key_id        text        PRIMARY KEY,
    public_key    bytea       NOT NULL CHECK (length(public_key) = 32),
    master_key_id text        NOT NULL CHECK (master_key_id ~ '^[0-9a-f]{16}$'),
    wrapped_key   bytea       NOT NULL CHECK (length(wrapped_key) = 60),
    created_at    timestamptz NOT NULL DEFAULT now(),
    retired_at    timestamptz
);
GRANT SELECT ON outbox_keys TO incident_app;

-- Which master key wraps new keys. While a rotation is under way it names both keys and the files
-- they were read from, so that running daemons can load the other one. Ids and paths only: never
-- a key. Transactions that wrap new keys share-lock the row (which needs UPDATE on a column); the
-- rotation's switch waits for them.
CREATE TABLE master_key_state (
    only_row          boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    current_key_id    text        NOT NULL CHECK (current_key_id ~ '^[0-9a-f]{16}$'),
    current_key_path  text,
    previous_key_id   text        CHECK (previous_key_id ~ '^[0-9a-f]{16}$'),
    previous_key_path text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, UPDATE (updated_at) ON master_key_state TO incident_app;

-- Keys from before: stored in plain. A new database has none and loses the table now; one that
-- has keys keeps it until `incidentd serve` (which holds the master key) has wrapped them all
-- into incident_keys and dropped it, files and dead tuples with it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM personal_data_keys) THEN
        DROP TABLE personal_data_keys;
    END IF;
END;
$$;
