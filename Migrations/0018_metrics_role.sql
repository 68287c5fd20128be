-- A role for Prometheus scrapers: a token of role metrics may read /metrics and nothing else.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('reporter', 'reviewer', 'analyst', 'admin', 'metrics'));
