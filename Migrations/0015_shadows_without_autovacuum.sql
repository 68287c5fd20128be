-- Shadows are not vacuumed by autovacuum. A bulk load writes a million rows into a shadow, which
-- set autovacuum on it while its indexes were being built (a scan of the whole table beside them
-- on two cores), and the swap's renames then waited for that worker until the server cancelled
-- it (deadlock_timeout, 1 s), with every reader of the live table queued behind the swap. A
-- rebuild analyzes its shadows itself before the swap; the swap hands the setting over with the
-- names: the table swapped in is vacuumed as usual, the one swapped out is not. (Autovacuum
-- still runs on any table when transaction ids need freezing.)
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT name FROM public.read_model_tables LOOP
        EXECUTE format('ALTER TABLE public.%I SET (autovacuum_enabled = false)', t.name || '_shadow');
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION swap_read_model(live text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.read_model_tables t WHERE t.name = live) THEN
        RAISE EXCEPTION 'not a read-model table: %', live USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('ALTER TABLE public.%I RENAME TO %I', live, live || '_swapping');
    EXECUTE format('ALTER TABLE public.%I RENAME TO %I', live || '_shadow', live);
    EXECUTE format('ALTER TABLE public.%I RENAME TO %I', live || '_swapping', live || '_shadow');
    EXECUTE format('ALTER TABLE public.%I RESET (autovacuum_enabled)', live);
    EXECUTE format('ALTER TABLE public.%I SET (autovacuum_enabled = false)', live || '_shadow');
END;
$$;
