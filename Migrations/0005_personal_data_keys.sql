-- One AES-256 key per incident for its personal data. The log holds only ciphertext; erasing
-- personal data deletes the key (crypto-shredding), so the immutable log becomes unreadable there.
CREATE TABLE personal_data_keys (
    incident_id uuid PRIMARY KEY,
    data_key    bytea NOT NULL CHECK (length(data_key) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Erasures are remembered so a key is never made again for an erased incident.
CREATE TABLE personal_data_erasures (
    incident_id uuid PRIMARY KEY,
    erased_at   timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, DELETE ON personal_data_keys TO incident_app;
GRANT SELECT, INSERT ON personal_data_erasures TO incident_app;
