-- Daemons keep the principals of recently used tokens in memory (TokenCache): every change to
-- api_tokens (a revocation, an expiry moved, a row deleted) tells them to forget all of them.
-- New tokens need no notice: a token is only remembered after it was found.
CREATE FUNCTION notify_api_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('incident_tokens', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_api_tokens_changed();
