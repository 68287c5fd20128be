-- The access audit (PRODUCT.md §11.2): one row for each read of personal data, each erasure and
-- redaction, each token created or revoked, each projection rebuild and each outbox delivery
-- that carried personal data, written in the same transaction as what it records. Append-only
-- like the log: nobody, the owner included, may change or remove a row. It never holds personal
-- data: who, when, what, on which incident or object, and the reason given for a read.
CREATE TABLE access_audit (
    -- The order rows were written in, and the cursor of GET /v1/admin/audit.
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    principal      text        NOT NULL CHECK (principal <> ''),
    role           text        NOT NULL CHECK (role <> ''),
    action         text        NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    incident_id    uuid,
    -- What the action was on when it is not an incident: a token's name, a projection's name.
    target         text        CHECK (length(target) <= 200),
    -- The X-Access-Reason of a read of personal data (5 to 500 characters).
    reason         text        CHECK (length(reason) <= 500),
    request_id     text        CHECK (length(request_id) <= 200),
    client_address text        CHECK (length(client_address) <= 200)
);

CREATE INDEX access_audit_at_idx ON access_audit (at);
CREATE INDEX access_audit_incident_idx ON access_audit (incident_id) WHERE incident_id IS NOT NULL;

CREATE FUNCTION access_audit_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access audit is append-only: % on access_audit is not allowed', TG_OP
        USING ERRCODE = 'object_not_in_prerequisite_state';
END;
$$;

CREATE TRIGGER access_audit_no_update_or_delete
    BEFORE UPDATE OR DELETE ON access_audit
    FOR EACH ROW EXECUTE FUNCTION access_audit_is_append_only();

CREATE TRIGGER access_audit_no_truncate
    BEFORE TRUNCATE ON access_audit
    FOR EACH STATEMENT EXECUTE FUNCTION access_audit_is_append_only();

REVOKE ALL ON access_audit FROM PUBLIC;
GRANT SELECT, INSERT ON access_audit TO incident_app;
