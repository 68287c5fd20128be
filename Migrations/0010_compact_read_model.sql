-- The summary's bucket tables hold a few thousand rows, each updated once a batch. While a long
-- transaction holds the cluster's horizon back (a bulk load, a rebuild's range), the old versions
-- cannot be pruned: after a million events the district table held 4,100 rows in 2,600 pages, and
-- every summary scanned them all (7 ms instead of under one; vacuum frees pages but keeps them).
-- CLUSTER rewrites such a table compactly, in 100-200 ms at these sizes; it needs the owner, so
-- the daemon (incident_app) asks through this, after the projector has worked off a backlog. It
-- waits at most 200 ms for its lock (summaries queue behind it meanwhile), else it gives up.
CREATE FUNCTION compact_read_model(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp SET lock_timeout = '200ms' AS $$
DECLARE
    primary_key name;
BEGIN
    IF name NOT IN ('region_summary', 'region_summary_district') THEN
        RAISE EXCEPTION 'not a compactable read-model table: %', name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Swaps rename tables, not their indexes: find the primary key by the catalog.
    SELECT c.relname INTO primary_key FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = format('public.%I', name)::regclass AND i.indisprimary;
    EXECUTE format('CLUSTER public.%I USING %I', name, primary_key);
END;
$$;

REVOKE ALL ON FUNCTION compact_read_model(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION compact_read_model(text) TO incident_app;
