-- Requests for quotation: an RFQ of a buyer, its lines (parts), and each line's routing of operations.
-- The service validates everything first and reports every problem at once; these constraints are the
-- last line, so that no code path can store an RFQ the rest of the system cannot work with.

CREATE TABLE rfqs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    buyer_id uuid NOT NULL REFERENCES buyers (id),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Incoterms 2020.
    incoterm text NOT NULL
        CHECK (incoterm IN ('EXW', 'FCA', 'CPT', 'CIP', 'DAP', 'DPU', 'DDP', 'FAS', 'FOB', 'CFR', 'CIF')),
    destination_country char(2) NOT NULL CHECK (destination_country ~ '^[A-Z]{2}$'),
    due_date date NOT NULL,
    bid_deadline date NOT NULL,
    nda_required boolean NOT NULL DEFAULT false,
    -- May factory owners see who the buyer is? Buyers often keep their name back until an award.
    disclose_buyer boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled', 'awarded', 'closed')),
    -- A client-chosen key: a retried submit with the same key returns the first RFQ instead of a second one.
    -- request_hash is the SHA-256 of the canonical input, to refuse the same key with a different input.
    idempotency_key text CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 200),
    request_hash text CHECK (request_hash IS NULL OR request_hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    CHECK (bid_deadline < due_date),
    CHECK ((idempotency_key IS NULL) = (request_hash IS NULL)),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    CONSTRAINT rfqs_buyer_idempotency_key UNIQUE (buyer_id, idempotency_key)
);
-- Keyset pages are ordered by (created_at DESC, id DESC): for everyone, per buyer, per status.
CREATE INDEX rfqs_created_idx ON rfqs (created_at DESC, id DESC);
CREATE INDEX rfqs_buyer_created_idx ON rfqs (buyer_id, created_at DESC, id DESC);
CREATE INDEX rfqs_status_created_idx ON rfqs (status, created_at DESC, id DESC);

CREATE TABLE rfq_lines (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    rfq_id uuid NOT NULL REFERENCES rfqs (id) ON DELETE CASCADE,
    -- 1-based order of the line within its RFQ.
    position integer NOT NULL CHECK (position BETWEEN 1 AND 200),
    part_number text NOT NULL DEFAULT '' CHECK (length(part_number) <= 100),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    material text NOT NULL REFERENCES materials (code),
    quantity integer NOT NULL CHECK (quantity > 0),
    tolerance_um numeric NOT NULL
        CHECK (tolerance_um >= 0.001 AND tolerance_um <= 100000 AND scale(tolerance_um) <= 3),
    envelope_mm integer NOT NULL CHECK (envelope_mm > 0 AND envelope_mm <= 100000),
    -- Certification codes (certifications.code) every factory working on the line must hold.
    required_certifications text[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(required_certifications) <= 10 AND array_position(required_certifications, NULL) IS NULL),
    target_unit_price numeric
        CHECK (target_unit_price >= 0 AND target_unit_price < 1000000000000 AND scale(target_unit_price) <= 4),
    notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    CONSTRAINT rfq_lines_rfq_position_key UNIQUE (rfq_id, position)
);

-- An array cannot carry a foreign key: check each required certification against the catalogue instead.
CREATE FUNCTION rfq_lines_check_certifications() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unknown text;
BEGIN
    SELECT c INTO unknown
    FROM unnest(NEW.required_certifications) AS c
    WHERE NOT EXISTS (SELECT 1 FROM certifications WHERE code = c)
    LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown certification %', unknown USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER rfq_lines_certifications
    BEFORE INSERT OR UPDATE OF required_certifications ON rfq_lines
    FOR EACH ROW EXECUTE FUNCTION rfq_lines_check_certifications();

CREATE TABLE rfq_operations (
    rfq_line_id uuid NOT NULL REFERENCES rfq_lines (id) ON DELETE CASCADE,
    -- 1-based routing order: operation k starts after operation k-1 of the same line ends.
    position integer NOT NULL CHECK (position BETWEEN 1 AND 20),
    process_code text NOT NULL REFERENCES processes (code),
    notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    PRIMARY KEY (rfq_line_id, position)
);
-- The factory-owner scope looks operations up by process.
CREATE INDEX rfq_operations_process_idx ON rfq_operations (process_code);

-- The last line behind the service's MATERIAL_MISMATCH check: the line's material must belong to a family
-- the operation's process accepts.
CREATE FUNCTION rfq_operations_check_material() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM rfq_lines l
        JOIN materials m ON m.code = l.material
        JOIN processes p ON p.code = NEW.process_code
        WHERE l.id = NEW.rfq_line_id AND m.family = ANY (p.material_families)
    ) THEN
        RAISE EXCEPTION 'process % does not accept the material of line %', NEW.process_code, NEW.rfq_line_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER rfq_operations_material
    BEFORE INSERT OR UPDATE OF process_code ON rfq_operations
    FOR EACH ROW EXECUTE FUNCTION rfq_operations_check_material();
