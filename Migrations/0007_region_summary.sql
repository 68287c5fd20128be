-- The regional summary read model: per day (in Kosovo) x municipality x category, the incidents
-- that count (reported or verified) and their casualties. District figures are roll-ups of their
-- municipalities. Rows whose incidents fall to zero are deleted.
CREATE TABLE region_summary (
    day          date    NOT NULL,
    municipality text    NOT NULL,
    district     text    NOT NULL,
    category     text    NOT NULL,
    incidents    integer NOT NULL,
    verified     integer NOT NULL,
    killed       bigint  NOT NULL,
    injured      bigint  NOT NULL,
    abducted     bigint  NOT NULL,
    displaced    bigint  NOT NULL,
    PRIMARY KEY (day, municipality, category)
);

-- What each incident contributes to region_summary now, so an event can move it between buckets.
CREATE TABLE region_summary_incidents (
    incident_id  uuid    PRIMARY KEY,
    version      integer NOT NULL,
    day          date    NOT NULL,
    municipality text    NOT NULL,
    district     text    NOT NULL,
    category     text    NOT NULL,
    status       text    NOT NULL,
    killed       integer NOT NULL,
    injured      integer NOT NULL,
    abducted     integer NOT NULL,
    displaced    integer NOT NULL
);

-- A rebuild replays the log into these shadows and swaps them in by renaming, in one transaction.
CREATE TABLE incidents_shadow (LIKE incidents INCLUDING ALL);
CREATE TABLE region_summary_shadow (LIKE region_summary INCLUDING ALL);
CREATE TABLE region_summary_incidents_shadow (LIKE region_summary_incidents INCLUDING ALL);

-- When the last rebuild was swapped in.
ALTER TABLE projection_checkpoints ADD COLUMN rebuilt_at timestamptz;

-- The weekly digest's revisions read events by when they were recorded; the log is in that order.
CREATE INDEX events_recorded_at_brin ON events USING brin (recorded_at);

-- The daemon fills the shadows and empties them, and swaps a rebuild in through one function that
-- can rename nothing but read-model tables. The tables stay owned by the migrating role: the
-- daemon gets no ownership and no CREATE on the schema.
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON incidents, incidents_shadow, region_summary, region_summary_shadow,
    region_summary_incidents, region_summary_incidents_shadow TO incident_app;

CREATE FUNCTION swap_read_model(live text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF live NOT IN ('incidents', 'region_summary', 'region_summary_incidents') THEN
        RAISE EXCEPTION 'not a read-model table: %', live USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', live, live || '_swapping');
    EXECUTE format('ALTER TABLE %I RENAME TO %I', live || '_shadow', live);
    EXECUTE format('ALTER TABLE %I RENAME TO %I', live || '_swapping', live || '_shadow');
END;
$$;

REVOKE ALL ON FUNCTION swap_read_model(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION swap_read_model(text) TO incident_app;
