-- The incident taxonomy. Adding a sub-category is a new migration, not a code change.
CREATE TABLE categories (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z_]+$'),
    label      text NOT NULL,
    sort_order integer NOT NULL
);

CREATE TABLE subcategories (
    code          text PRIMARY KEY CHECK (code ~ '^[a-z_]+$'),
    category_code text NOT NULL REFERENCES categories (code),
    label         text NOT NULL,
    -- Set where the subject itself endangers people: such incidents are always confidential.
    forced_sensitivity text CHECK (forced_sensitivity IN ('public', 'restricted', 'confidential')),
    sort_order    integer NOT NULL
);

INSERT INTO categories (code, label, sort_order) VALUES
    ('ethnic_violence', 'Inter-ethnic violence', 1),
    ('trafficking', 'Trafficking and smuggling', 2),
    ('return_obstacle', 'Obstacles to return of refugees and displaced people', 3),
    ('access_security', 'Humanitarian access and staff security', 4),
    ('unrest', 'Civil unrest', 5),
    ('explosives', 'Explosives and weapons', 6),
    ('sexual_violence', 'Sexual violence', 7),
    ('other', 'Other', 8);

INSERT INTO subcategories (code, category_code, label, forced_sensitivity, sort_order) VALUES
    ('killing', 'ethnic_violence', 'Killing', NULL, 1),
    ('assault', 'ethnic_violence', 'Assault', NULL, 2),
    ('threat_intimidation', 'ethnic_violence', 'Threat or intimidation', NULL, 3),
    ('property_damage', 'ethnic_violence', 'Property damage', NULL, 4),
    ('religious_cultural_site', 'ethnic_violence', 'Attack on a religious or cultural site', NULL, 5),
    ('mob_violence', 'ethnic_violence', 'Mob violence', NULL, 6),
    ('hate_speech', 'ethnic_violence', 'Hate speech', NULL, 7),
    ('human_trafficking', 'trafficking', 'Human trafficking', 'confidential', 1),
    ('migrant_smuggling', 'trafficking', 'Migrant smuggling', NULL, 2),
    ('arms_smuggling', 'trafficking', 'Arms smuggling', NULL, 3),
    ('drug_smuggling', 'trafficking', 'Drug smuggling', NULL, 4),
    ('goods_smuggling', 'trafficking', 'Goods smuggling', NULL, 5),
    ('interdiction', 'trafficking', 'Interdiction', NULL, 6),
    ('security_incident_at_return_site', 'return_obstacle', 'Security incident at a return site', NULL, 1),
    ('looting_returnee_property', 'return_obstacle', 'Looting of returnee property', NULL, 2),
    ('property_occupation', 'return_obstacle', 'Illegal occupation of property', NULL, 3),
    ('community_opposition', 'return_obstacle', 'Community opposition to return', NULL, 4),
    ('administrative_obstruction', 'return_obstacle', 'Administrative obstruction', NULL, 5),
    ('movement_restriction', 'return_obstacle', 'Restriction of movement', NULL, 6),
    ('attack_on_staff', 'access_security', 'Attack on staff', NULL, 1),
    ('threat_to_staff', 'access_security', 'Threat to staff', NULL, 2),
    ('theft_robbery', 'access_security', 'Theft or robbery', NULL, 3),
    ('detention_of_staff', 'access_security', 'Detention of staff', NULL, 4),
    ('roadblock_obstruction', 'access_security', 'Roadblock or obstruction', NULL, 5),
    ('peaceful_protest', 'unrest', 'Peaceful protest', NULL, 1),
    ('protest_with_intervention', 'unrest', 'Protest with intervention', NULL, 2),
    ('violent_demonstration', 'unrest', 'Violent demonstration', NULL, 3),
    ('excessive_force', 'unrest', 'Excessive force', NULL, 4),
    ('grenade', 'explosives', 'Grenade', NULL, 1),
    ('ied_landmine_uxo', 'explosives', 'IED, landmine or UXO', NULL, 2),
    ('weapons_cache', 'explosives', 'Weapons cache', NULL, 3),
    ('sexual_violence', 'sexual_violence', 'Sexual violence', 'confidential', 1),
    ('other', 'other', 'Other', NULL, 1);

GRANT SELECT ON categories, subcategories TO incident_app;
