-- Transport between prefectures: derived from the distance between prefectural capitals (see
-- server/logistics/transport.py for the bands), with coordinators' overrides per pair.
CREATE TABLE prefecture_capitals (
    prefecture char(2) PRIMARY KEY REFERENCES prefectures (code),
    city_en text NOT NULL,
    latitude numeric(7, 4) NOT NULL CHECK (latitude BETWEEN 20 AND 46),
    longitude numeric(7, 4) NOT NULL CHECK (longitude BETWEEN 122 AND 154)
);

-- Prefectural capitals (government offices), to about 1 km.
INSERT INTO prefecture_capitals (prefecture, city_en, latitude, longitude) VALUES
    ('01', 'Sapporo', 43.0642, 141.3469), ('02', 'Aomori', 40.8244, 140.7400),
    ('03', 'Morioka', 39.7036, 141.1525), ('04', 'Sendai', 38.2689, 140.8719),
    ('05', 'Akita', 39.7186, 140.1025), ('06', 'Yamagata', 38.2406, 140.3633),
    ('07', 'Fukushima', 37.7500, 140.4678), ('08', 'Mito', 36.3414, 140.4467),
    ('09', 'Utsunomiya', 36.5658, 139.8836), ('10', 'Maebashi', 36.3911, 139.0608),
    ('11', 'Saitama', 35.8569, 139.6489), ('12', 'Chiba', 35.6047, 140.1233),
    ('13', 'Shinjuku', 35.6894, 139.6917), ('14', 'Yokohama', 35.4478, 139.6425),
    ('15', 'Niigata', 37.9022, 139.0236), ('16', 'Toyama', 36.6953, 137.2114),
    ('17', 'Kanazawa', 36.5947, 136.6256), ('18', 'Fukui', 36.0652, 136.2217),
    ('19', 'Kofu', 35.6639, 138.5683), ('20', 'Nagano', 36.6513, 138.1810),
    ('21', 'Gifu', 35.3911, 136.7222), ('22', 'Shizuoka', 34.9769, 138.3831),
    ('23', 'Nagoya', 35.1803, 136.9067), ('24', 'Tsu', 34.7303, 136.5086),
    ('25', 'Otsu', 35.0044, 135.8686), ('26', 'Kyoto', 35.0211, 135.7556),
    ('27', 'Osaka', 34.6864, 135.5200), ('28', 'Kobe', 34.6913, 135.1830),
    ('29', 'Nara', 34.6853, 135.8328), ('30', 'Wakayama', 34.2261, 135.1675),
    ('31', 'Tottori', 35.5036, 134.2381), ('32', 'Matsue', 35.4722, 133.0506),
    ('33', 'Okayama', 34.6617, 133.9350), ('34', 'Hiroshima', 34.3964, 132.4594),
    ('35', 'Yamaguchi', 34.1858, 131.4714), ('36', 'Tokushima', 34.0658, 134.5594),
    ('37', 'Takamatsu', 34.3403, 134.0433), ('38', 'Matsuyama', 33.8417, 132.7661),
    ('39', 'Kochi', 33.5597, 133.5311), ('40', 'Fukuoka', 33.6064, 130.4181),
    ('41', 'Saga', 33.2494, 130.2989), ('42', 'Nagasaki', 32.7447, 129.8736),
    ('43', 'Kumamoto', 32.7897, 130.7417), ('44', 'Oita', 33.2381, 131.6125),
    ('45', 'Miyazaki', 31.9111, 131.4239), ('46', 'Kagoshima', 31.5603, 130.5581),
    ('47', 'Naha', 26.2125, 127.6811);

-- A coordinator's correction of the derived figures for one pair of prefectures (either direction).
CREATE TABLE transport_overrides (
    from_prefecture char(2) NOT NULL REFERENCES prefectures (code),
    to_prefecture char(2) NOT NULL REFERENCES prefectures (code),
    days integer NOT NULL CHECK (days BETWEEN 0 AND 60),
    cost_jpy integer NOT NULL CHECK (cost_jpy BETWEEN 0 AND 100000000),
    set_by_user_id uuid NOT NULL REFERENCES users (id),
    set_at timestamptz NOT NULL,
    PRIMARY KEY (from_prefecture, to_prefecture),
    CHECK (from_prefecture <= to_prefecture)   -- one row per unordered pair
);

-- Weak ties: an owner declares that one of its factories works with another factory; the partner's owner
-- confirms. Only confirmed, not ended partnerships count in the solver's collaboration weights.
CREATE TABLE factory_partnerships (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    factory_id uuid NOT NULL REFERENCES factories (id) ON DELETE CASCADE,
    partner_factory_id uuid NOT NULL REFERENCES factories (id) ON DELETE CASCADE,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    declared_by_user_id uuid NOT NULL REFERENCES users (id),
    declared_at timestamptz NOT NULL,
    confirmed_at timestamptz,
    ended_at timestamptz,
    CHECK (factory_id <> partner_factory_id)
);
-- At most one live partnership per unordered pair.
CREATE UNIQUE INDEX factory_partnerships_pair_key
    ON factory_partnerships (least(factory_id, partner_factory_id), greatest(factory_id, partner_factory_id))
    WHERE ended_at IS NULL;
CREATE INDEX factory_partnerships_partner_idx ON factory_partnerships (partner_factory_id);
