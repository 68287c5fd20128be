-- The incidents' district index goes. A listing by district names the district's municipalities
-- too, which the municipality index serves; and every index on incidents costs each projected
-- report its entry and each rebuild a sort of the whole table (4 s of a 38 s rebuild at 1.7
-- million events). The swaps rename tables with their indexes, so the index is found by what it
-- indexes, on the live table and on its shadow, and any stashed definition of it is forgotten.
DO $$
DECLARE
    stale regclass;
BEGIN
    FOR stale IN
        SELECT i.indexrelid::regclass FROM pg_index i
        WHERE i.indrelid IN ('public.incidents'::regclass, 'public.incidents_shadow'::regclass)
          AND pg_get_indexdef(i.indexrelid) LIKE '% USING btree (district, occurred_day)'
    LOOP
        EXECUTE format('DROP INDEX %s', stale);
    END LOOP;
END;
$$;
DELETE FROM read_model_index_stash
WHERE table_name IN ('incidents', 'incidents_shadow') AND definition LIKE '% USING btree (district, occurred_day)';
