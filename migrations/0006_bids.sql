-- From RFQ to bids: work packages, the RFQ life cycle as a transition table, the RFQ event log, sealed bids.

-- --- the RFQ life cycle -------------------------------------------------------------------------------
-- The states and the legal transitions between them. server/rfqs/lifecycle.py says the same in Python (a
-- test checks that both agree); the trigger below makes an illegal transition impossible to write, whatever
-- code path tries. Adding a state: rows here (in a new migration) and one entry in lifecycle.py.
CREATE TABLE rfq_states (
    status text PRIMARY KEY CHECK (status ~ '^[a-z_]{2,30}$'),
    -- The state a new RFQ is written in (exactly one).
    initial boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX rfq_states_one_initial ON rfq_states (initial) WHERE initial;

INSERT INTO rfq_states (status, initial) VALUES
    ('open', true),
    ('proposed', false),
    ('cancelled', false),
    ('closed', false),
    -- Kept from 0003 (the API already names it); the next issue adds the transitions that reach it.
    ('awarded', false);

CREATE TABLE rfq_transitions (
    from_status text NOT NULL REFERENCES rfq_states (status),
    to_status text NOT NULL REFERENCES rfq_states (status),
    PRIMARY KEY (from_status, to_status),
    CHECK (from_status <> to_status)
);

INSERT INTO rfq_transitions (from_status, to_status) VALUES
    ('open', 'proposed'),
    ('open', 'cancelled'),
    ('open', 'closed'),
    ('proposed', 'cancelled'),
    ('proposed', 'closed');

ALTER TABLE rfqs DROP CONSTRAINT rfqs_status_check;
ALTER TABLE rfqs ADD CONSTRAINT rfqs_status_fkey FOREIGN KEY (status) REFERENCES rfq_states (status);

CREATE FUNCTION rfqs_check_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM rfq_states WHERE status = NEW.status AND initial) THEN
            RAISE EXCEPTION 'an RFQ cannot start in status %', NEW.status USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NOT EXISTS (
        SELECT 1 FROM rfq_transitions WHERE from_status = OLD.status AND to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'illegal RFQ transition % -> %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER rfqs_transition_insert
    BEFORE INSERT ON rfqs
    FOR EACH ROW EXECUTE FUNCTION rfqs_check_transition();
CREATE TRIGGER rfqs_transition_update
    BEFORE UPDATE OF status ON rfqs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION rfqs_check_transition();

-- --- the RFQ event log --------------------------------------------------------------------------------
-- Append-only: every transition and every bid action, written in the transaction of the change itself.
-- buyer_visible is decided by the kind (server/rfqs/events.py): buyer-safe events carry no bids and no
-- factory names in their payload.
CREATE TABLE rfq_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rfq_id uuid NOT NULL REFERENCES rfqs (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL CHECK (kind ~ '^[a-z_.]{2,60}$'),
    actor_role text NOT NULL CHECK (actor_role IN ('buyer', 'coordinator', 'factory_owner', 'system')),
    actor_user_id uuid REFERENCES users (id),
    actor_buyer_id uuid REFERENCES buyers (id),
    buyer_visible boolean NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object')
);
CREATE INDEX rfq_events_rfq_idx ON rfq_events (rfq_id, id);

CREATE FUNCTION rfq_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rfq_events is append-only' USING ERRCODE = 'check_violation';
END;
$$;

CREATE TRIGGER rfq_events_no_update
    BEFORE UPDATE ON rfq_events
    FOR EACH ROW EXECUTE FUNCTION rfq_events_append_only();

-- The RFQs stored before this migration get the events they would have had.
INSERT INTO rfq_events (rfq_id, at, kind, actor_role, actor_buyer_id, buyer_visible, payload)
SELECT id, created_at, 'rfq.submitted', 'buyer', buyer_id, true, '{"backfilled": true}'
FROM rfqs;
INSERT INTO rfq_events (rfq_id, at, kind, actor_role, buyer_visible, payload)
SELECT id, cancelled_at, 'rfq.status_changed', 'system', true,
       jsonb_build_object('from', 'open', 'to', 'cancelled', 'backfilled', true)
FROM rfqs WHERE status = 'cancelled';

-- --- work packages ------------------------------------------------------------------------------------
-- One RFQ line × one routing operation: what factories bid on and the solver assigns. Written with the RFQ
-- (submit_rfq), so bids can refer to a stable id; everything else (process, material, quantity …) is read
-- from the line and the operation, never copied.
CREATE TABLE rfq_packages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    rfq_id uuid NOT NULL REFERENCES rfqs (id) ON DELETE CASCADE,
    rfq_line_id uuid NOT NULL REFERENCES rfq_lines (id) ON DELETE CASCADE,
    operation_position integer NOT NULL,
    FOREIGN KEY (rfq_line_id, operation_position)
        REFERENCES rfq_operations (rfq_line_id, position) ON DELETE CASCADE,
    CONSTRAINT rfq_packages_operation_key UNIQUE (rfq_line_id, operation_position)
);
CREATE INDEX rfq_packages_rfq_idx ON rfq_packages (rfq_id);

-- The RFQs stored before this migration get their packages now.
INSERT INTO rfq_packages (rfq_id, rfq_line_id, operation_position)
SELECT l.rfq_id, o.rfq_line_id, o.position
FROM rfq_operations o
JOIN rfq_lines l ON l.id = o.rfq_line_id;

-- --- sealed bids --------------------------------------------------------------------------------------
-- A factory's firm offer on one package; at most one per (package, factory): a new bid replaces the old.
-- Money in integer JPY, like the solver's.
CREATE TABLE bids (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    package_id uuid NOT NULL REFERENCES rfq_packages (id) ON DELETE CASCADE,
    factory_id uuid NOT NULL REFERENCES factories (id) ON DELETE CASCADE,
    unit_price_jpy bigint NOT NULL CHECK (unit_price_jpy BETWEEN 1 AND 100000000),
    setup_cost_jpy bigint NOT NULL CHECK (setup_cost_jpy BETWEEN 0 AND 1000000000),
    hours_per_unit numeric(12, 4) NOT NULL CHECK (hours_per_unit > 0 AND hours_per_unit <= 1000),
    setup_hours numeric(8, 2) NOT NULL CHECK (setup_hours >= 0 AND setup_hours <= 2000),
    max_quantity integer CHECK (max_quantity IS NULL OR max_quantity >= 1),
    earliest_start date,
    valid_until date NOT NULL,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    submitted_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bids_package_factory_key UNIQUE (package_id, factory_id)
);
CREATE INDEX bids_factory_idx ON bids (factory_id);
