-- Read models keep their place in the log here, written in the same transaction as their rows.
CREATE TABLE projection_checkpoints (
    name            text PRIMARY KEY,
    transaction_id  xid8 NOT NULL DEFAULT '0',
    global_position bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The current state of each incident, for listing and filtering without reading the log.
CREATE TABLE incidents (
    incident_id   uuid PRIMARY KEY,
    version       integer NOT NULL,
    status        text NOT NULL,
    category      text NOT NULL,
    subcategory   text NOT NULL,
    municipality  text NOT NULL,
    district      text NOT NULL,
    occurred_at   text NOT NULL,
    occurred_day  date NOT NULL,
    sensitivity   text NOT NULL,
    reported_by   text,
    killed        integer NOT NULL,
    injured       integer NOT NULL,
    abducted      integer NOT NULL,
    displaced     integer NOT NULL,
    -- The canonical record without personal data, as served.
    record        jsonb NOT NULL,
    personal_data_erased boolean NOT NULL DEFAULT false,
    reported_at   timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX incidents_listing_idx ON incidents (occurred_day DESC, incident_id DESC);
CREATE INDEX incidents_municipality_idx ON incidents (municipality, occurred_day);
CREATE INDEX incidents_district_idx ON incidents (district, occurred_day);
CREATE INDEX incidents_category_idx ON incidents (category, occurred_day);
CREATE INDEX incidents_reported_by_idx ON incidents (reported_by);

GRANT SELECT, INSERT, UPDATE, DELETE ON incidents, projection_checkpoints TO incident_app;

-- Wake projectors when events are appended (they also poll: notifications are lost across reconnects).
CREATE FUNCTION events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('incident_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
