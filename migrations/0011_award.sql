-- From proposal to award (issue 8): the grown life cycle, member invitations, exchange rates, quotes and
-- capacity bookings. Shipping days come with the quote code (0012).

-- --- Life cycle -------------------------------------------------------------------------------------------
-- server/rfqs/lifecycle.py holds the same states and transitions (tests/bids/test_lifecycle.py compares them).
INSERT INTO rfq_states (status) VALUES
    ('bidding_closed'),   -- the bid deadline passed (the deadline task); coordinators form the consortium
    ('quoted'),           -- a quote was issued to the buyer
    ('declined'),         -- the buyer declined the quote
    ('expired');          -- the quote passed its validity unanswered

INSERT INTO rfq_transitions (from_status, to_status) VALUES
    ('open', 'bidding_closed'),
    ('bidding_closed', 'proposed'),
    ('bidding_closed', 'cancelled'),
    ('bidding_closed', 'closed'),
    ('proposed', 'quoted'),
    ('quoted', 'awarded'),
    ('quoted', 'declined'),
    ('quoted', 'expired'),
    -- An award that would overbook a member's week loses (CAPACITY_CONFLICT): the RFQ needs a repair solve.
    ('quoted', 'proposed'),
    ('quoted', 'cancelled'),
    -- A coordinator cancels an awarded RFQ (with a reason); that releases its bookings.
    ('awarded', 'cancelled');

-- --- Proposals ----------------------------------------------------------------------------------------------
-- An accepted estimated share may adjust its price; when that moves the proposal's total by more than the
-- tolerance, a coordinator confirms the new total before a quote can be issued.
ALTER TABLE proposals
    ADD COLUMN price_confirmation_required boolean NOT NULL DEFAULT false,
    ADD COLUMN answer_by timestamptz;   -- the invitations' deadline chosen at approval

-- --- Invitations ----------------------------------------------------------------------------------------------
-- One per member factory of an approved proposal: its share (invitation_lines), price and answer deadline.
-- A repaired proposal invites only new or changed shares; an unchanged accepted share is carried over
-- (carried_from_id) and starts accepted.
CREATE TABLE invitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    proposal_id uuid NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    rfq_id uuid NOT NULL REFERENCES rfqs (id) ON DELETE CASCADE,
    factory_id uuid NOT NULL REFERENCES factories (id),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
    answer_by timestamptz NOT NULL,
    offered_price_jpy bigint NOT NULL CHECK (offered_price_jpy >= 0),   -- the share at bid / estimated prices
    agreed_price_jpy bigint CHECK (agreed_price_jpy >= 0),              -- set when accepted
    estimated boolean NOT NULL,                                          -- some line's price is an estimate
    answered_at timestamptz,
    answered_by_user_id uuid REFERENCES users (id),
    decline_reason text NOT NULL DEFAULT '' CHECK (length(decline_reason) <= 2000),
    carried_from_id uuid REFERENCES invitations (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invitations_proposal_factory_key UNIQUE (proposal_id, factory_id),
    CHECK ((status = 'accepted') = (agreed_price_jpy IS NOT NULL)),
    CHECK ((status = 'pending') = (answered_at IS NULL))
);
CREATE INDEX invitations_factory_idx ON invitations (factory_id, status, answer_by);
CREATE INDEX invitations_rfq_idx ON invitations (rfq_id);
-- The deadline task finds overdue ones by this.
CREATE INDEX invitations_pending_due_idx ON invitations (answer_by) WHERE status = 'pending';

CREATE TABLE invitation_lines (
    invitation_id uuid NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    package_id uuid NOT NULL REFERENCES rfq_packages (id) ON DELETE CASCADE,
    quantity integer NOT NULL CHECK (quantity > 0),
    start_date date NOT NULL,
    end_date date NOT NULL CHECK (end_date >= start_date),
    weekly_hours jsonb NOT NULL,                  -- [{"week": "2026-W49", "hours": 12.5}, …] as in the proposal
    unit_price_jpy bigint NOT NULL CHECK (unit_price_jpy >= 0),      -- the bid's, or the estimate's
    setup_cost_jpy bigint NOT NULL DEFAULT 0 CHECK (setup_cost_jpy >= 0),
    estimated boolean NOT NULL,
    agreed_unit_price_jpy bigint CHECK (agreed_unit_price_jpy >= 0), -- set when accepted
    PRIMARY KEY (invitation_id, package_id)
);

-- --- Exchange rates ----------------------------------------------------------------------------------------
-- Kept by coordinators (exchangeRateSet); the newest row of a currency applies; a quote stores the row it used.
CREATE TABLE exchange_rates (
    id bigserial PRIMARY KEY,
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$' AND currency <> 'JPY'),
    jpy_per_unit numeric(14, 6) NOT NULL CHECK (jpy_per_unit > 0),   -- 1 USD = 151.25 JPY → 151.250000
    set_on date NOT NULL,                                             -- the JST business day it was set
    set_at timestamptz NOT NULL DEFAULT now(),
    set_by_user_id uuid REFERENCES users (id)
);
CREATE INDEX exchange_rates_currency_idx ON exchange_rates (currency, set_at DESC, id DESC);

-- --- Quotes ---------------------------------------------------------------------------------------------------
CREATE TABLE quotes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    rfq_id uuid NOT NULL REFERENCES rfqs (id) ON DELETE CASCADE,
    proposal_id uuid NOT NULL REFERENCES proposals (id),
    status text NOT NULL DEFAULT 'issued'
        CHECK (status IN ('issued', 'accepted', 'declined', 'expired', 'withdrawn')),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    cost_jpy bigint NOT NULL CHECK (cost_jpy >= 0),                   -- the members' agreed total
    margin_pct numeric(5, 2) NOT NULL CHECK (margin_pct >= 0 AND margin_pct <= 100),
    exchange_rate_id bigint REFERENCES exchange_rates (id),           -- NULL for a JPY quote
    jpy_per_unit numeric(14, 6) NOT NULL CHECK (jpy_per_unit > 0),    -- the rate used (1 for JPY)
    total_amount numeric(18, 2) NOT NULL CHECK (total_amount >= 0),   -- in `currency`
    completion_date date NOT NULL,
    shipping_days integer NOT NULL CHECK (shipping_days >= 0),
    delivery_date date NOT NULL CHECK (delivery_date >= completion_date),
    valid_until date NOT NULL,                                        -- JST business day, inclusive
    consortium jsonb NOT NULL,          -- roles only (lead: area + certifications; partners: counts): buyer-safe
    issued_by_user_id uuid REFERENCES users (id),
    issued_at timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    decline_reason text NOT NULL DEFAULT '' CHECK (length(decline_reason) <= 2000),
    -- quoteAccept's idempotency: a repeated accept with the same key returns the first result.
    accept_idempotency_key text CHECK (accept_idempotency_key IS NULL OR length(accept_idempotency_key) <= 200),
    CHECK ((exchange_rate_id IS NULL) = (currency = 'JPY'))
);
CREATE INDEX quotes_rfq_idx ON quotes (rfq_id, issued_at DESC);
-- At most one live quote per RFQ.
CREATE UNIQUE INDEX quotes_one_live_per_rfq ON quotes (rfq_id) WHERE status IN ('issued', 'accepted');
CREATE INDEX quotes_issued_valid_idx ON quotes (valid_until) WHERE status = 'issued';

CREATE TABLE quote_lines (
    quote_id uuid NOT NULL REFERENCES quotes (id) ON DELETE CASCADE,
    rfq_line_id uuid NOT NULL REFERENCES rfq_lines (id) ON DELETE CASCADE,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(18, 4) NOT NULL CHECK (unit_price >= 0),      -- in the quote's currency
    PRIMARY KEY (quote_id, rfq_line_id)
);

-- --- Capacity bookings -------------------------------------------------------------------------------------
-- Written by the award (quoteAccept) in its transaction: every assignment's weekly hours per member ×
-- process × ISO week. Live bookings (released_at IS NULL) are subtracted from free capacity everywhere.
CREATE TABLE capacity_bookings (
    quote_id uuid NOT NULL REFERENCES quotes (id) ON DELETE CASCADE,
    rfq_id uuid NOT NULL REFERENCES rfqs (id) ON DELETE CASCADE,
    factory_id uuid NOT NULL REFERENCES factories (id),
    process_code text NOT NULL REFERENCES processes (code),
    week_start date NOT NULL CHECK (extract(isodow FROM week_start) = 1),
    hours numeric(7, 2) NOT NULL CHECK (hours > 0),
    booked_at timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    PRIMARY KEY (quote_id, factory_id, process_code, week_start)
);
CREATE INDEX capacity_bookings_live_idx ON capacity_bookings (factory_id, process_code, week_start)
    WHERE released_at IS NULL;
