-- Search of incidents by q (IncidentStore/Queries/IncidentSearch.swift). Each row of incidents
-- keeps its summary, place, perpetrator and target folded (diacritics taken off by unaccent,
-- then lower case) in one column with a trigram index: a q of three characters or more is found
-- in any position from the index, not by reading every row. A confidential incident's row holds
-- its text sealed, so its column holds none of it (its rows are found by the partial index below,
-- and matched once opened).
--
-- unaccent and pg_trgm are trusted extensions: the database's owner may create them (it needs
-- CREATE on the database, which an owner has). Where one exists already, in whatever schema, it
-- is used there; a new one goes to public.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

-- unaccent(text) is only STABLE: it reads whichever dictionary the search path finds. Named here,
-- and the body bound when it is made (a SQL-standard body), the result depends on the text alone,
-- as an index or a generated column needs; a restore with an empty search_path computes the same.
DO $$
DECLARE
    unaccent_schema text := (SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent');
BEGIN
    EXECUTE format(
        'CREATE FUNCTION public.incident_search_fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE '
        'RETURN lower(%s.unaccent(%L::regdictionary, $1))',
        unaccent_schema, unaccent_schema || '.unaccent');
END;
$$;

-- The record's four texts, folded, apart by a unit separator (U+001F), which none of them may
-- hold: a q then matches within one text only.
CREATE FUNCTION incident_search_text(record jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN public.incident_search_fold(coalesce(record->>'summary', '') || E'\x1f' || coalesce(record->>'place', '') || E'\x1f'
    || coalesce(record->>'perpetrator', '') || E'\x1f' || coalesce(record->>'target', ''));

-- The LIKE pattern that finds q anywhere in such a text: folded the same way, its %, _ and \
-- literal (escaped after folding, as unaccent turns a fullwidth ％ into %).
CREATE FUNCTION incident_search_pattern(q text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN '%' || replace(replace(replace(public.incident_search_fold(q), '\', '\\'), '%', '\%'), '_', '\_') || '%';

-- The regular expression that finds a region's name as whole words in such a text (a q that
-- names a region also finds its other names, but `Peć` must not find "specific").
CREATE FUNCTION incident_search_word(name text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN '\m' || regexp_replace(public.incident_search_fold(name), '([^[:alnum:][:space:]])', '\\\1', 'g') || '\M';

-- On the live table and its shadow (a rebuild swaps them; each index keeps its name).
DO $$
DECLARE
    trgm_schema text := (SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm');
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['incidents', 'incidents_shadow'] LOOP
        EXECUTE format('ALTER TABLE public.%I ADD COLUMN search_text text GENERATED ALWAYS AS (public.incident_search_text(record)) STORED', t);
        EXECUTE format('CREATE INDEX %I ON public.%I USING gin (search_text %s.gin_trgm_ops)', t || '_search_idx', t, trgm_schema);
        -- The rows whose text is sealed: a search by an admin, a reviewer or a reporter reads
        -- them beside the trigram index's rows (confidential incidents are few of all).
        EXECUTE format('CREATE INDEX %I ON public.%I (occurred_day DESC, incident_id DESC) WHERE record ? ''narrative''', t || '_sealed_idx', t);
    END LOOP;
END;
$$;
