-- 1. District figures of their own: the district summary (the one analysts ask for most) reads a
--    seventh of the rows it would read from region_summary. Same figures, municipality rolled up.
CREATE TABLE region_summary_district (
    day       date    NOT NULL,
    district  text    NOT NULL,
    category  text    NOT NULL,
    incidents integer NOT NULL,
    verified  integer NOT NULL,
    killed    bigint  NOT NULL,
    injured   bigint  NOT NULL,
    abducted  bigint  NOT NULL,
    displaced bigint  NOT NULL,
    PRIMARY KEY (day, district, category)
);
CREATE TABLE region_summary_district_shadow (LIKE region_summary_district INCLUDING ALL);

-- The live table starts as the roll-up of region_summary; the projector keeps both from here on.
INSERT INTO region_summary_district
SELECT day, district, category, sum(incidents), sum(verified), sum(killed), sum(injured), sum(abducted), sum(displaced)
FROM region_summary GROUP BY day, district, category;

GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON region_summary_district, region_summary_district_shadow TO incident_app;

CREATE OR REPLACE FUNCTION swap_read_model(live text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF live NOT IN ('incidents', 'region_summary', 'region_summary_incidents', 'region_summary_district') THEN
        RAISE EXCEPTION 'not a read-model table: %', live USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', live, live || '_swapping');
    EXECUTE format('ALTER TABLE %I RENAME TO %I', live || '_shadow', live);
    EXECUTE format('ALTER TABLE %I RENAME TO %I', live || '_swapping', live || '_shadow');
END;
$$;

-- 2. Bulk rebuilds (ProjectionRebuild.bulk): most incidents are one report, and their rows are
--    written by one INSERT ... SELECT per range of the log. A shadow loads faster without its
--    secondary indexes, so the daemon may drop them first and build them once at the end. Their
--    definitions wait in read_model_index_stash meanwhile, so a rebuild that dies halfway leaves
--    them to be restored (a swap restores them before anything else).
CREATE TABLE read_model_index_stash (
    table_name text NOT NULL,
    index_name text NOT NULL,
    definition text NOT NULL,
    PRIMARY KEY (table_name, index_name)
);

CREATE FUNCTION shadow_indexes_drop(shadow text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    stashed record;
BEGIN
    IF shadow NOT IN ('incidents_shadow', 'region_summary_shadow', 'region_summary_incidents_shadow', 'region_summary_district_shadow') THEN
        RAISE EXCEPTION 'not a read-model shadow: %', shadow USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Every index but the ones behind constraints (the primary key, which upserts need).
    INSERT INTO read_model_index_stash (table_name, index_name, definition)
    SELECT shadow, i.indexname, i.indexdef FROM pg_indexes i
    WHERE i.schemaname = 'public' AND i.tablename = shadow
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = format('public.%I', i.indexname)::regclass)
    ON CONFLICT DO NOTHING;
    FOR stashed IN SELECT index_name FROM read_model_index_stash WHERE table_name = shadow LOOP
        EXECUTE format('DROP INDEX IF EXISTS public.%I', stashed.index_name);
    END LOOP;
END;
$$;

-- Builds one stashed index of the shadow and returns true, or false when none is left: one index
-- per call, so that each build is a transaction of its own (a transaction building an index holds
-- back every gapless reader of the log until it commits).
CREATE FUNCTION shadow_indexes_restore(shadow text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    stashed record;
BEGIN
    IF shadow NOT IN ('incidents_shadow', 'region_summary_shadow', 'region_summary_incidents_shadow', 'region_summary_district_shadow') THEN
        RAISE EXCEPTION 'not a read-model shadow: %', shadow USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT index_name, definition INTO stashed FROM read_model_index_stash WHERE table_name = shadow ORDER BY index_name LIMIT 1;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF to_regclass(format('public.%I', stashed.index_name)) IS NULL THEN
        EXECUTE stashed.definition;
    END IF;
    DELETE FROM read_model_index_stash WHERE table_name = shadow AND index_name = stashed.index_name;
    RETURN true;
END;
$$;

-- ANALYZE needs the table's owner: the daemon (incident_app) refreshes the planner's statistics of
-- a read-model table through this, after a swap and after a long catch-up, rather than wait for
-- autovacuum (summaries planned on an empty table's statistics were twice as slow).
CREATE FUNCTION analyze_read_model(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF name NOT IN ('incidents', 'region_summary', 'region_summary_incidents', 'region_summary_district',
                    'incidents_shadow', 'region_summary_shadow', 'region_summary_incidents_shadow', 'region_summary_district_shadow') THEN
        RAISE EXCEPTION 'not a read-model table: %', name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('ANALYZE public.%I', name);
END;
$$;

REVOKE ALL ON FUNCTION shadow_indexes_drop(text), shadow_indexes_restore(text), analyze_read_model(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shadow_indexes_drop(text), shadow_indexes_restore(text), analyze_read_model(text) TO incident_app;

-- The Kosovo calendar day of an occurred_at (a date, or an RFC 3339 timestamp): what
-- IncidentTime.day(ofOccurredAt:) computes, for the rows a bulk rebuild writes in SQL.
CREATE FUNCTION incident_day(occurred_at text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(occurred_at) = 10 THEN occurred_at::date
                ELSE (occurred_at::timestamptz AT TIME ZONE 'Europe/Belgrade')::date END
$$;
