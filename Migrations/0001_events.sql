-- The append-only event log. Every fact ever recorded lives here; everything users read is a
-- projection of it.
CREATE TABLE events (
    global_position bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction, for gapless reads: consumers read only below the oldest
    -- transaction still running (pg_snapshot_xmin), so a later commit with a lower position is
    -- never skipped.
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL,
    stream          text        NOT NULL CHECK (stream <> ''),
    stream_version  integer     NOT NULL CHECK (stream_version > 0),
    type            text        NOT NULL CHECK (type <> ''),
    schema_version  integer     NOT NULL CHECK (schema_version > 0),
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream, stream_version)
);

-- The commit-safe read order.
CREATE INDEX events_commit_order_idx ON events (transaction_id, global_position);

CREATE FUNCTION events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on events is not allowed', TG_OP
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'record a new event instead (amendment, retraction or erasure)';
END;
$$;

CREATE TRIGGER events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- The daemon's least-privilege role: it may read and append to the log, nothing more.
-- Roles are shared by every database of a cluster, so another database may have made it already.
DO $$
BEGIN
    CREATE ROLE incident_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

REVOKE ALL ON events FROM PUBLIC;
GRANT SELECT, INSERT ON events TO incident_app;

-- The daemon checks that migrations are current (readiness).
GRANT SELECT ON schema_migrations TO incident_app;
