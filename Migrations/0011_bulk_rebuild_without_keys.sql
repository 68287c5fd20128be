-- Bulk rebuilds drop the shadows' primary keys too, not only their secondary indexes. The ranges of
-- a bulk load insert each incident once (a range is reports of single-report incidents, in shadows
-- emptied by the rebuild's start), so nothing there needs a key; maintaining one made each range
-- insert into a random place of a growing index, nearly half of a range's time. The keys come back
-- first, as one sorted build each, before anything upserts (the fold of longer streams, the
-- steps, the swap).
ALTER TABLE read_model_index_stash ADD COLUMN is_key boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION shadow_indexes_drop(shadow text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    stashed record;
BEGIN
    IF shadow NOT IN ('incidents_shadow', 'region_summary_shadow', 'region_summary_incidents_shadow', 'region_summary_district_shadow') THEN
        RAISE EXCEPTION 'not a read-model shadow: %', shadow USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Every index, and the primary key as the constraint it is (its index has the constraint's name).
    INSERT INTO read_model_index_stash (table_name, index_name, definition, is_key)
    SELECT shadow, i.indexname, i.indexdef, false FROM pg_indexes i
    WHERE i.schemaname = 'public' AND i.tablename = shadow
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = format('public.%I', i.indexname)::regclass)
    UNION ALL
    SELECT shadow, c.conname, format('ALTER TABLE public.%I ADD CONSTRAINT %I %s', shadow, c.conname, pg_get_constraintdef(c.oid)), true
    FROM pg_constraint c WHERE c.conrelid = format('public.%I', shadow)::regclass AND c.contype = 'p'
    ON CONFLICT DO NOTHING;
    FOR stashed IN SELECT index_name, is_key FROM read_model_index_stash WHERE table_name = shadow LOOP
        IF stashed.is_key THEN
            EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT IF EXISTS %I', shadow, stashed.index_name);
        ELSE
            EXECUTE format('DROP INDEX IF EXISTS public.%I', stashed.index_name);
        END IF;
    END LOOP;
END;
$$;

-- Builds one stashed index of the shadow, its primary key before the others, and returns true; or
-- false when none is left. One per call, so that each build is a transaction of its own (a
-- transaction building an index holds back every gapless reader of the log until it commits).
CREATE OR REPLACE FUNCTION shadow_indexes_restore(shadow text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    stashed record;
BEGIN
    IF shadow NOT IN ('incidents_shadow', 'region_summary_shadow', 'region_summary_incidents_shadow', 'region_summary_district_shadow') THEN
        RAISE EXCEPTION 'not a read-model shadow: %', shadow USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT index_name, definition INTO stashed FROM read_model_index_stash WHERE table_name = shadow
    ORDER BY is_key DESC, index_name LIMIT 1;
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
