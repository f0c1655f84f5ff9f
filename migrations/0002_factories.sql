-- Factories: the seeded taxonomy (prefectures, materials, processes, certifications), the factory registry,
-- what each factory can do (capabilities) and how many free hours it has per ISO week (capacity).

-- JIS X 0401 prefecture codes.
CREATE TABLE prefectures (
    code char(2) PRIMARY KEY CHECK (code ~ '^(0[1-9]|[1-3][0-9]|4[0-7])$'),
    name_ja text NOT NULL UNIQUE,
    name_en text NOT NULL UNIQUE
);

INSERT INTO prefectures (code, name_ja, name_en) VALUES
    ('01', '北海道', 'Hokkaido'),
    ('02', '青森県', 'Aomori'),
    ('03', '岩手県', 'Iwate'),
    ('04', '宮城県', 'Miyagi'),
    ('05', '秋田県', 'Akita'),
    ('06', '山形県', 'Yamagata'),
    ('07', '福島県', 'Fukushima'),
    ('08', '茨城県', 'Ibaraki'),
    ('09', '栃木県', 'Tochigi'),
    ('10', '群馬県', 'Gunma'),
    ('11', '埼玉県', 'Saitama'),
    ('12', '千葉県', 'Chiba'),
    ('13', '東京都', 'Tokyo'),
    ('14', '神奈川県', 'Kanagawa'),
    ('15', '新潟県', 'Niigata'),
    ('16', '富山県', 'Toyama'),
    ('17', '石川県', 'Ishikawa'),
    ('18', '福井県', 'Fukui'),
    ('19', '山梨県', 'Yamanashi'),
    ('20', '長野県', 'Nagano'),
    ('21', '岐阜県', 'Gifu'),
    ('22', '静岡県', 'Shizuoka'),
    ('23', '愛知県', 'Aichi'),
    ('24', '三重県', 'Mie'),
    ('25', '滋賀県', 'Shiga'),
    ('26', '京都府', 'Kyoto'),
    ('27', '大阪府', 'Osaka'),
    ('28', '兵庫県', 'Hyogo'),
    ('29', '奈良県', 'Nara'),
    ('30', '和歌山県', 'Wakayama'),
    ('31', '鳥取県', 'Tottori'),
    ('32', '島根県', 'Shimane'),
    ('33', '岡山県', 'Okayama'),
    ('34', '広島県', 'Hiroshima'),
    ('35', '山口県', 'Yamaguchi'),
    ('36', '徳島県', 'Tokushima'),
    ('37', '香川県', 'Kagawa'),
    ('38', '愛媛県', 'Ehime'),
    ('39', '高知県', 'Kochi'),
    ('40', '福岡県', 'Fukuoka'),
    ('41', '佐賀県', 'Saga'),
    ('42', '長崎県', 'Nagasaki'),
    ('43', '熊本県', 'Kumamoto'),
    ('44', '大分県', 'Oita'),
    ('45', '宮崎県', 'Miyazaki'),
    ('46', '鹿児島県', 'Kagoshima'),
    ('47', '沖縄県', 'Okinawa');

-- Materials by their JIS (or common trade) designation; the family decides which processes accept them.
CREATE TABLE materials (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{2,20}$'),
    name_ja text NOT NULL,
    name_en text NOT NULL,
    family text NOT NULL CHECK (family IN ('metal', 'plastic', 'ceramic', 'composite', 'rubber'))
);

INSERT INTO materials (code, name_ja, name_en, family) VALUES
    ('SUS304', 'ステンレス鋼 SUS304', 'Stainless steel 304', 'metal'),
    ('SUS316L', 'ステンレス鋼 SUS316L', 'Stainless steel 316L', 'metal'),
    ('SUS440C', 'マルテンサイト系ステンレス鋼 SUS440C', 'Martensitic stainless steel 440C', 'metal'),
    ('S45C', '機械構造用炭素鋼 S45C', 'Carbon steel S45C (AISI 1045)', 'metal'),
    ('SCM440', 'クロムモリブデン鋼 SCM440', 'Chromium-molybdenum steel SCM440 (AISI 4140)', 'metal'),
    ('SKD11', '合金工具鋼 SKD11', 'Cold-work tool steel SKD11 (AISI D2)', 'metal'),
    ('SS400', '一般構造用圧延鋼材 SS400', 'Structural steel SS400', 'metal'),
    ('SPCC', '冷間圧延鋼板 SPCC', 'Cold-rolled steel sheet SPCC', 'metal'),
    ('FC250', 'ねずみ鋳鉄 FC250', 'Grey cast iron FC250', 'metal'),
    ('A5052', 'アルミニウム合金 A5052', 'Aluminium alloy 5052', 'metal'),
    ('A6061', 'アルミニウム合金 A6061', 'Aluminium alloy 6061', 'metal'),
    ('A7075', '超々ジュラルミン A7075', 'Aluminium alloy 7075', 'metal'),
    ('ADC12', 'アルミダイカスト合金 ADC12', 'Aluminium die-casting alloy ADC12', 'metal'),
    ('C3604', '快削黄銅 C3604', 'Free-cutting brass C3604', 'metal'),
    ('C1100', 'タフピッチ銅 C1100', 'Tough-pitch copper C1100', 'metal'),
    ('TI64', 'チタン合金 Ti-6Al-4V', 'Titanium alloy Ti-6Al-4V', 'metal'),
    ('INCONEL718', 'ニッケル基超合金 インコネル718', 'Nickel superalloy Inconel 718', 'metal'),
    ('POM', 'ポリアセタール', 'Polyacetal (POM)', 'plastic'),
    ('PEEK', 'ポリエーテルエーテルケトン', 'Polyether ether ketone (PEEK)', 'plastic'),
    ('PA66', 'ナイロン66', 'Nylon 66 (PA66)', 'plastic'),
    ('PC', 'ポリカーボネート', 'Polycarbonate (PC)', 'plastic'),
    ('ABS', 'ABS樹脂', 'ABS', 'plastic'),
    ('PTFE', 'フッ素樹脂 PTFE', 'Polytetrafluoroethylene (PTFE)', 'plastic'),
    ('AL2O3', 'アルミナセラミックス', 'Alumina ceramic (Al2O3)', 'ceramic'),
    ('ZRO2', 'ジルコニアセラミックス', 'Zirconia ceramic (ZrO2)', 'ceramic'),
    ('CFRP', '炭素繊維強化プラスチック', 'Carbon-fibre reinforced plastic (CFRP)', 'composite'),
    ('GFRP', 'ガラス繊維強化プラスチック', 'Glass-fibre reinforced plastic (GFRP)', 'composite'),
    ('NBR', 'ニトリルゴム', 'Nitrile rubber (NBR)', 'rubber'),
    ('FKM', 'フッ素ゴム', 'Fluoroelastomer (FKM)', 'rubber');

-- The process taxonomy. material_families: the material families a process accepts; a capability or an RFQ
-- operation whose material belongs to another family is a MATERIAL_MISMATCH.
CREATE TABLE processes (
    code text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{2,40}$'),
    name_ja text NOT NULL,
    name_en text NOT NULL,
    category text NOT NULL CHECK (category IN (
        'precision_machining', 'small_lot_prototyping', 'high_precision_mass_production', 'micro_assembly',
        'advanced_machining', 'sheet_metal', 'forming_forging', 'casting', 'moulding', 'heat_treatment',
        'surface_treatment', 'additive', 'inspection'
    )),
    material_families text[] NOT NULL CHECK (
        cardinality(material_families) >= 1
        AND material_families <@ ARRAY['metal', 'plastic', 'ceramic', 'composite', 'rubber']
    ),
    sort_order integer NOT NULL
);

INSERT INTO processes (code, name_ja, name_en, category, material_families, sort_order) VALUES
    ('cnc_turning', 'CNC旋盤加工', 'CNC turning', 'precision_machining', '{metal,plastic,composite}', 10),
    ('cnc_milling', 'マシニング加工', 'CNC milling', 'precision_machining', '{metal,plastic,composite}', 20),
    ('five_axis_machining', '5軸加工', '5-axis machining', 'precision_machining', '{metal,plastic,composite}', 30),
    ('swiss_turning', '自動盤加工（スイス型）', 'Swiss-type turning', 'precision_machining', '{metal,plastic}', 40),
    ('cylindrical_grinding', '円筒研削', 'Cylindrical grinding', 'precision_machining', '{metal,ceramic}', 50),
    ('surface_grinding', '平面研削', 'Surface grinding', 'precision_machining', '{metal,ceramic}', 60),
    ('prototype_machining', '試作切削加工', 'Prototype machining', 'small_lot_prototyping',
        '{metal,plastic,composite}', 110),
    ('vacuum_casting', '真空注型', 'Vacuum casting (urethane)', 'small_lot_prototyping', '{plastic,rubber}', 120),
    ('prototype_sheet_metal', '試作板金', 'Prototype sheet metal', 'small_lot_prototyping', '{metal}', 130),
    ('high_volume_turning', 'カム式自動盤量産', 'High-volume automatic-lathe turning',
        'high_precision_mass_production', '{metal,plastic}', 210),
    ('progressive_stamping', '順送プレス加工', 'Progressive-die stamping', 'high_precision_mass_production',
        '{metal}', 220),
    ('precision_assembly', '精密組立', 'Precision assembly', 'micro_assembly',
        '{metal,plastic,ceramic,composite,rubber}', 310),
    ('cleanroom_assembly', 'クリーンルーム組立', 'Clean-room micro-assembly', 'micro_assembly',
        '{metal,plastic,ceramic,composite,rubber}', 320),
    ('wire_edm', 'ワイヤー放電加工', 'Wire EDM', 'advanced_machining', '{metal}', 410),
    ('sinker_edm', '形彫り放電加工', 'Sinker EDM', 'advanced_machining', '{metal}', 420),
    ('laser_cutting', 'レーザー加工', 'Laser cutting', 'advanced_machining', '{metal,plastic,composite}', 430),
    ('jig_grinding', 'ジグ研削', 'Jig grinding', 'advanced_machining', '{metal,ceramic}', 440),
    ('water_jet_cutting', 'ウォータージェット加工', 'Water-jet cutting', 'advanced_machining',
        '{metal,plastic,ceramic,composite,rubber}', 450),
    ('sheet_metal_bending', '板金曲げ加工', 'Sheet-metal bending', 'sheet_metal', '{metal}', 510),
    ('turret_punching', 'タレットパンチ加工', 'Turret punching', 'sheet_metal', '{metal}', 520),
    ('tig_welding', 'TIG溶接', 'TIG welding', 'sheet_metal', '{metal}', 530),
    ('hot_forging', '熱間鍛造', 'Hot forging', 'forming_forging', '{metal}', 610),
    ('cold_forging', '冷間鍛造', 'Cold forging', 'forming_forging', '{metal}', 620),
    ('deep_drawing', '深絞り加工', 'Deep drawing', 'forming_forging', '{metal}', 630),
    ('metal_spinning', 'へら絞り', 'Metal spinning', 'forming_forging', '{metal}', 640),
    ('die_casting', 'ダイカスト', 'Die casting', 'casting', '{metal}', 710),
    ('sand_casting', '砂型鋳造', 'Sand casting', 'casting', '{metal}', 720),
    ('investment_casting', 'ロストワックス精密鋳造', 'Investment casting', 'casting', '{metal}', 730),
    ('injection_moulding', '射出成形', 'Injection moulding', 'moulding', '{plastic}', 810),
    ('rubber_moulding', 'ゴム成形', 'Rubber moulding', 'moulding', '{rubber}', 820),
    ('compression_moulding', '圧縮成形', 'Compression moulding', 'moulding', '{plastic,composite,rubber}', 830),
    ('quenching_tempering', '焼入れ焼戻し', 'Quenching and tempering', 'heat_treatment', '{metal}', 910),
    ('carburizing', '浸炭焼入れ', 'Carburizing', 'heat_treatment', '{metal}', 920),
    ('nitriding', '窒化処理', 'Nitriding', 'heat_treatment', '{metal}', 930),
    ('vacuum_heat_treatment', '真空熱処理', 'Vacuum heat treatment', 'heat_treatment', '{metal}', 940),
    ('anodizing', 'アルマイト処理', 'Anodizing', 'surface_treatment', '{metal}', 1010),
    ('electroless_nickel', '無電解ニッケルめっき', 'Electroless nickel plating', 'surface_treatment',
        '{metal}', 1020),
    ('hard_chrome', '硬質クロムめっき', 'Hard chrome plating', 'surface_treatment', '{metal}', 1030),
    ('black_oxide', '黒染め', 'Black oxide', 'surface_treatment', '{metal}', 1040),
    ('electropolishing', '電解研磨', 'Electropolishing', 'surface_treatment', '{metal}', 1050),
    ('painting', '塗装', 'Painting', 'surface_treatment', '{metal,plastic,composite}', 1060),
    ('metal_3d_printing', '金属3Dプリント', 'Metal 3D printing (powder-bed fusion)', 'additive', '{metal}', 1110),
    ('resin_3d_printing', '樹脂3Dプリント', 'Resin 3D printing', 'additive', '{plastic}', 1120),
    ('cmm_inspection', '三次元測定', 'CMM inspection', 'inspection',
        '{metal,plastic,ceramic,composite,rubber}', 1210),
    ('cleaning_inspection', '精密洗浄・検査', 'Precision cleaning and inspection', 'inspection',
        '{metal,plastic,ceramic,composite,rubber}', 1220);

CREATE TABLE certifications (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{2,20}$'),
    name text NOT NULL
);

INSERT INTO certifications (code, name) VALUES
    ('ISO9001', 'ISO 9001 quality management'),
    ('JISQ9100', 'JIS Q 9100 / AS9100 aerospace quality management'),
    ('ISO13485', 'ISO 13485 medical devices quality management'),
    ('IATF16949', 'IATF 16949 automotive quality management'),
    ('ISO14001', 'ISO 14001 environmental management'),
    ('NADCAP', 'Nadcap special-process accreditation');

CREATE TABLE factories (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_user_id uuid NOT NULL REFERENCES users (id),
    name_ja text NOT NULL CHECK (length(name_ja) BETWEEN 1 AND 200),
    name_en text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 200),
    prefecture char(2) NOT NULL REFERENCES prefectures (code),
    city text NOT NULL CHECK (length(city) BETWEEN 1 AND 100),
    -- The industrial cluster it belongs to ('Ota', 'Higashiosaka', 'Tsubame-Sanjo' …): free text.
    cluster text CHECK (cluster IS NULL OR length(cluster) BETWEEN 1 AND 100),
    employees integer CHECK (employees > 0),
    founded_year integer CHECK (founded_year BETWEEN 1600 AND 2100),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Keyset pagination of the registry is ordered by (name_en, id).
CREATE INDEX factories_name_en_id_idx ON factories (name_en, id);
CREATE INDEX factories_owner_idx ON factories (owner_user_id);
CREATE INDEX factories_prefecture_idx ON factories (prefecture);
-- The cluster filter is case-insensitive.
CREATE INDEX factories_cluster_idx ON factories (lower(cluster));

CREATE TABLE factory_certifications (
    factory_id uuid NOT NULL REFERENCES factories (id) ON DELETE CASCADE,
    certification_code text NOT NULL REFERENCES certifications (code),
    valid_until date NOT NULL,
    PRIMARY KEY (factory_id, certification_code)
);
CREATE INDEX factory_certifications_code_idx ON factory_certifications (certification_code, valid_until);

-- What a factory can do with one process: materials, precision, size, lot range, hours and rates.
CREATE TABLE capabilities (
    factory_id uuid NOT NULL REFERENCES factories (id) ON DELETE CASCADE,
    process_code text NOT NULL REFERENCES processes (code),
    -- Codes from materials (checked by the trigger below, since arrays cannot carry foreign keys).
    materials text[] NOT NULL CHECK (cardinality(materials) BETWEEN 1 AND 50),
    best_tolerance_um numeric(10, 3) NOT NULL CHECK (best_tolerance_um > 0 AND best_tolerance_um <= 10000),
    max_envelope_mm integer NOT NULL CHECK (max_envelope_mm > 0),
    min_lot integer NOT NULL DEFAULT 1 CHECK (min_lot >= 1),
    max_lot integer NOT NULL,
    hours_per_week numeric(5, 2) NOT NULL CHECK (hours_per_week >= 0 AND hours_per_week <= 168),
    hourly_rate_jpy integer NOT NULL CHECK (hourly_rate_jpy > 0),
    setup_cost_jpy integer NOT NULL DEFAULT 0 CHECK (setup_cost_jpy >= 0),
    setup_hours numeric(7, 2) NOT NULL DEFAULT 0 CHECK (setup_hours >= 0),
    lead_days integer NOT NULL CHECK (lead_days >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (factory_id, process_code),
    CHECK (max_lot >= min_lot)
);
CREATE INDEX capabilities_materials_idx ON capabilities USING gin (materials);
CREATE INDEX capabilities_process_idx ON capabilities (process_code, best_tolerance_um);

-- The last line behind the service's UNKNOWN_MATERIAL / MATERIAL_MISMATCH checks.
CREATE FUNCTION capabilities_check_materials() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    SELECT m INTO bad
    FROM unnest(NEW.materials) AS m
    WHERE NOT EXISTS (
        SELECT 1
        FROM materials mat JOIN processes p ON p.code = NEW.process_code
        WHERE mat.code = m AND mat.family = ANY (p.material_families)
    )
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'material % is unknown or not accepted by process %', bad, NEW.process_code
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER capabilities_check_materials
    BEFORE INSERT OR UPDATE OF materials, process_code ON capabilities
    FOR EACH ROW EXECUTE FUNCTION capabilities_check_materials();

-- Free hours per ISO week that differ from the capability's hours_per_week. A week without a row has the
-- capability's hours_per_week.
CREATE TABLE capacity_weeks (
    factory_id uuid NOT NULL,
    process_code text NOT NULL,
    week_start date NOT NULL CHECK (extract(isodow FROM week_start) = 1),
    hours numeric(5, 2) NOT NULL CHECK (hours >= 0 AND hours <= 168),
    PRIMARY KEY (factory_id, process_code, week_start),
    FOREIGN KEY (factory_id, process_code) REFERENCES capabilities (factory_id, process_code) ON DELETE CASCADE
);
