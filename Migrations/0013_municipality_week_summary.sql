-- Municipality figures per ISO week, as 0012 did for districts: a municipality summary over twelve
-- weeks at a million events added up 22,000 day rows (20 ms); its whole weeks now come from here,
-- only the days before its first Monday and after its last Sunday from region_summary.
CREATE TABLE region_summary_week (
    week         date    NOT NULL CHECK (extract(isodow FROM week) = 1),  -- the week's Monday
    municipality text    NOT NULL,
    district     text    NOT NULL,
    category     text    NOT NULL,
    incidents    integer NOT NULL,
    verified     integer NOT NULL,
    killed       bigint  NOT NULL,
    injured      bigint  NOT NULL,
    abducted     bigint  NOT NULL,
    displaced    bigint  NOT NULL,
    PRIMARY KEY (week, municipality, category)
);
CREATE TABLE region_summary_week_shadow (LIKE region_summary_week INCLUDING ALL);

-- The live table starts as the roll-up of region_summary; the projector keeps both from here on.
INSERT INTO region_summary_week
SELECT iso_monday(day), municipality, district, category, sum(incidents), sum(verified), sum(killed), sum(injured), sum(abducted), sum(displaced)
FROM region_summary GROUP BY 1, 2, 3, 4;

GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON region_summary_week, region_summary_week_shadow TO incident_app;
INSERT INTO read_model_tables VALUES ('region_summary_week', true);
