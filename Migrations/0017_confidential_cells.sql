-- Disclosure control: analysts see confidential incidents only inside district x ISO week x
-- category cells that hold at least k of them (IncidentStore/Access/Disclosure.swift). The
-- summary keeps the confidential incidents' share of its buckets apart, per day x municipality x
-- category, so that an analyst's figure is the exact one less that share plus the qualifying
-- cells. Confidential incidents are few: the table is small, and every figure reads it by day.

-- Whether each counted incident is confidential now (by the events the projection has applied).
ALTER TABLE region_summary_incidents ADD COLUMN confidential boolean NOT NULL DEFAULT false;
ALTER TABLE region_summary_incidents_shadow ADD COLUMN confidential boolean NOT NULL DEFAULT false;
UPDATE region_summary_incidents c SET confidential = true
WHERE (SELECT coalesce(e.data->'changes'->>'sensitivity', e.data->>'sensitivity') FROM events e
       WHERE e.stream = 'incident-' || c.incident_id::text AND e.stream_version <= c.version
         AND (e.type = 'IncidentReported' OR (e.type = 'IncidentAmended' AND e.data->'changes' ? 'sensitivity'))
       ORDER BY e.stream_version DESC LIMIT 1) = 'confidential';

CREATE TABLE region_summary_confidential (LIKE region_summary INCLUDING ALL);
CREATE TABLE region_summary_confidential_shadow (LIKE region_summary INCLUDING ALL);
ALTER TABLE region_summary_confidential_shadow SET (autovacuum_enabled = false);
INSERT INTO region_summary_confidential (day, municipality, district, category, incidents, verified, killed, injured, abducted, displaced)
SELECT day, municipality, district, category, count(*), count(*) FILTER (WHERE status = 'verified'),
       sum(killed), sum(injured), sum(abducted), sum(displaced)
FROM region_summary_incidents WHERE confidential AND status IN ('reported', 'verified')
GROUP BY day, municipality, district, category;

GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON region_summary_confidential, region_summary_confidential_shadow TO incident_app;
INSERT INTO read_model_tables VALUES ('region_summary_confidential', true);
