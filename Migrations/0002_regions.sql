-- Kosovo's 7 districts and 38 municipalities, copied from shared/data/kosovo-municipalities.csv.
-- The municipality is the canonical location of an incident; district figures are roll-ups.
-- Seat coordinates are approximate (±2 km): for placing a marker on a map, not for geocoding.
CREATE TABLE districts (
    code    text PRIMARY KEY CHECK (code ~ '^XK-[A-Z]{3}$'),
    name_sq text NOT NULL,
    name_sr text NOT NULL
);

CREATE TABLE municipalities (
    code          text PRIMARY KEY CHECK (code ~ '^XK-[A-Z]{3}-[0-9]{2}$'),
    district_code text NOT NULL REFERENCES districts (code),
    name_sq       text NOT NULL,
    name_sr       text NOT NULL,
    aliases       text[] NOT NULL DEFAULT '{}',
    seat_lat      numeric(6, 3) NOT NULL,
    seat_lon      numeric(6, 3) NOT NULL
);

INSERT INTO districts (code, name_sq, name_sr) VALUES
    ('XK-PRI', 'Prishtinë', 'Priština'),
    ('XK-MIT', 'Mitrovicë', 'Mitrovica'),
    ('XK-PEJ', 'Pejë', 'Peć'),
    ('XK-GJA', 'Gjakovë', 'Đakovica'),
    ('XK-PRZ', 'Prizren', 'Prizren'),
    ('XK-FER', 'Ferizaj', 'Uroševac'),
    ('XK-GJI', 'Gjilan', 'Gnjilane');

INSERT INTO municipalities (code, district_code, name_sq, name_sr, aliases, seat_lat, seat_lon) VALUES
    ('XK-PRI-01', 'XK-PRI', 'Prishtinë', 'Priština', ARRAY['Pristina', 'Prishtina']::text[], 42.663, 21.166),
    ('XK-PRI-02', 'XK-PRI', 'Podujevë', 'Podujevo', ARRAY['Podujeva']::text[], 42.911, 21.193),
    ('XK-PRI-03', 'XK-PRI', 'Fushë Kosovë', 'Kosovo Polje', ARRAY['Fushe Kosova']::text[], 42.640, 21.096),
    ('XK-PRI-04', 'XK-PRI', 'Lipjan', 'Lipljan', '{}'::text[], 42.522, 21.126),
    ('XK-PRI-05', 'XK-PRI', 'Obiliq', 'Obilić', '{}'::text[], 42.687, 21.078),
    ('XK-PRI-06', 'XK-PRI', 'Drenas', 'Glogovac', ARRAY['Gllogoc']::text[], 42.626, 20.894),
    ('XK-PRI-07', 'XK-PRI', 'Graçanicë', 'Gračanica', ARRAY['Gracanica']::text[], 42.600, 21.194),
    ('XK-PRI-08', 'XK-PRI', 'Novobërdë', 'Novo Brdo', ARRAY['Novoberda']::text[], 42.615, 21.425),
    ('XK-MIT-01', 'XK-MIT', 'Mitrovicë e Jugut', 'Južna Mitrovica', ARRAY['South Mitrovica', 'Mitrovica South']::text[], 42.883, 20.867),
    ('XK-MIT-02', 'XK-MIT', 'Mitrovicë e Veriut', 'Severna Mitrovica', ARRAY['North Mitrovica', 'Mitrovica North']::text[], 42.895, 20.865),
    ('XK-MIT-03', 'XK-MIT', 'Vushtrri', 'Vučitrn', ARRAY['Vushtrria']::text[], 42.823, 20.968),
    ('XK-MIT-04', 'XK-MIT', 'Skenderaj', 'Srbica', '{}'::text[], 42.747, 20.789),
    ('XK-MIT-05', 'XK-MIT', 'Leposaviq', 'Leposavić', '{}'::text[], 43.104, 20.803),
    ('XK-MIT-06', 'XK-MIT', 'Zveçan', 'Zvečan', '{}'::text[], 42.908, 20.841),
    ('XK-MIT-07', 'XK-MIT', 'Zubin Potok', 'Zubin Potok', '{}'::text[], 42.914, 20.690),
    ('XK-PEJ-01', 'XK-PEJ', 'Pejë', 'Peć', ARRAY['Peja', 'Pec']::text[], 42.659, 20.289),
    ('XK-PEJ-02', 'XK-PEJ', 'Istog', 'Istok', '{}'::text[], 42.781, 20.488),
    ('XK-PEJ-03', 'XK-PEJ', 'Klinë', 'Klina', '{}'::text[], 42.622, 20.578),
    ('XK-GJA-01', 'XK-GJA', 'Gjakovë', 'Đakovica', ARRAY['Gjakova', 'Djakovica']::text[], 42.380, 20.431),
    ('XK-GJA-02', 'XK-GJA', 'Deçan', 'Dečani', ARRAY['Decan', 'Decani']::text[], 42.540, 20.288),
    ('XK-GJA-03', 'XK-GJA', 'Junik', 'Junik', '{}'::text[], 42.476, 20.278),
    ('XK-GJA-04', 'XK-GJA', 'Rahovec', 'Orahovac', '{}'::text[], 42.399, 20.655),
    ('XK-PRZ-01', 'XK-PRZ', 'Prizren', 'Prizren', '{}'::text[], 42.214, 20.740),
    ('XK-PRZ-02', 'XK-PRZ', 'Suharekë', 'Suva Reka', ARRAY['Suhareka']::text[], 42.359, 20.825),
    ('XK-PRZ-03', 'XK-PRZ', 'Malishevë', 'Mališevo', ARRAY['Malisheva']::text[], 42.482, 20.746),
    ('XK-PRZ-04', 'XK-PRZ', 'Dragash', 'Dragaš', '{}'::text[], 42.063, 20.653),
    ('XK-PRZ-05', 'XK-PRZ', 'Mamushë', 'Mamuša', ARRAY['Mamusha']::text[], 42.323, 20.727),
    ('XK-FER-01', 'XK-FER', 'Ferizaj', 'Uroševac', '{}'::text[], 42.371, 21.155),
    ('XK-FER-02', 'XK-FER', 'Kaçanik', 'Kačanik', '{}'::text[], 42.232, 21.259),
    ('XK-FER-03', 'XK-FER', 'Shtime', 'Štimlje', '{}'::text[], 42.433, 21.040),
    ('XK-FER-04', 'XK-FER', 'Shtërpcë', 'Štrpce', ARRAY['Shterpca']::text[], 42.239, 21.027),
    ('XK-FER-05', 'XK-FER', 'Hani i Elezit', 'Elez Han', ARRAY['Đeneral Janković', 'General Jankovic']::text[], 42.150, 21.297),
    ('XK-GJI-01', 'XK-GJI', 'Gjilan', 'Gnjilane', ARRAY['Gjilani']::text[], 42.464, 21.469),
    ('XK-GJI-02', 'XK-GJI', 'Kamenicë', 'Kamenica', ARRAY['Kosovska Kamenica']::text[], 42.578, 21.580),
    ('XK-GJI-03', 'XK-GJI', 'Viti', 'Vitina', ARRAY['Vitia']::text[], 42.321, 21.359),
    ('XK-GJI-04', 'XK-GJI', 'Kllokot', 'Klokot', '{}'::text[], 42.369, 21.380),
    ('XK-GJI-05', 'XK-GJI', 'Partesh', 'Parteš', '{}'::text[], 42.402, 21.434),
    ('XK-GJI-06', 'XK-GJI', 'Ranillug', 'Ranilug', '{}'::text[], 42.492, 21.599);

GRANT SELECT ON districts, municipalities TO incident_app;
