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

-- Read models are disposable (the log rebuilds them), and the daemon must rename them to swap a
-- rebuild in: incident_app owns them, and renaming needs CREATE on their schema. The log itself
-- stays owned by the migrating role, which incident_app is not: it still cannot change events.
DO $$
BEGIN
    IF pg_has_role(current_user, 'incident_app', 'MEMBER') THEN
        EXECUTE format('GRANT CREATE ON SCHEMA %I TO incident_app', current_schema());
        ALTER TABLE incidents OWNER TO incident_app;
        ALTER TABLE incidents_shadow OWNER TO incident_app;
        ALTER TABLE region_summary OWNER TO incident_app;
        ALTER TABLE region_summary_shadow OWNER TO incident_app;
        ALTER TABLE region_summary_incidents OWNER TO incident_app;
        ALTER TABLE region_summary_incidents_shadow OWNER TO incident_app;
    ELSE
        GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON incidents_shadow, region_summary, region_summary_shadow,
            region_summary_incidents, region_summary_incidents_shadow TO incident_app;
    END IF;
END;
$$;
