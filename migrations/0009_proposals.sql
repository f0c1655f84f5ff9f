-- Consortium proposals: the solver's answers for an RFQ, reviewed by coordinators.
--
-- A solve job writes one proposal per (preset, rank); the unique (job_id, preset, rank) makes a retried job
-- write nothing new. A revision is a new proposal in the same lineage (lineage_id = the first proposal's id)
-- with version = parent's + 1 and a diff against its parent.
CREATE TABLE proposals (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    rfq_id uuid NOT NULL REFERENCES rfqs (id) ON DELETE CASCADE,
    job_id uuid NOT NULL,
    preset text NOT NULL CHECK (preset IN ('cheapest', 'fastest', 'fewest_members', 'balanced')),
    rank integer NOT NULL CHECK (rank >= 0),              -- 0: the preset's best; 1…: alternatives
    lineage_id uuid NOT NULL,
    parent_id uuid REFERENCES proposals (id),
    version integer NOT NULL CHECK (version >= 1),
    solver_status text NOT NULL CHECK (solver_status IN ('optimal', 'feasible', 'infeasible', 'unknown')),
    review_state text NOT NULL DEFAULT 'draft'
        CHECK (review_state IN ('draft', 'approved', 'rejected', 'superseded')),
    objective numeric,
    bound numeric,
    gap numeric,
    total_cost_jpy bigint,
    members uuid[] NOT NULL DEFAULT '{}',
    lead_factory_id uuid REFERENCES factories (id),
    firm_share numeric(5, 4) CHECK (firm_share BETWEEN 0 AND 1),   -- of the production value
    problem jsonb NOT NULL,         -- the solver.Problem it was solved from (machikoba.problem/1)
    solution jsonb NOT NULL,        -- the solver.Solution (machikoba.solution/1), explanation included
    diff jsonb,                     -- against parent_id
    estimated_pairs jsonb NOT NULL DEFAULT '[]',   -- [[factory, package], …] whose offer was an estimate
    reviewed_by_user_id uuid REFERENCES users (id),
    reviewed_at timestamptz,
    review_note text NOT NULL DEFAULT '' CHECK (length(review_note) <= 2000),
    row_version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT proposals_job_preset_rank_key UNIQUE (job_id, preset, rank),
    CONSTRAINT proposals_lineage_version_key UNIQUE (lineage_id, version)
);
CREATE INDEX proposals_rfq_idx ON proposals (rfq_id, created_at);
-- At most one approved proposal per RFQ: of concurrent approvals exactly one commits.
CREATE UNIQUE INDEX proposals_one_approved_per_rfq ON proposals (rfq_id) WHERE review_state = 'approved';

CREATE TABLE proposal_assignments (
    proposal_id uuid NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    factory_id uuid NOT NULL REFERENCES factories (id),
    package_id uuid NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    start_date date NOT NULL,
    end_date date NOT NULL CHECK (end_date >= start_date),
    weekly_hours jsonb NOT NULL,     -- [{"week": "2026-W49", "hours": 12.5}, …]
    estimated boolean NOT NULL,
    PRIMARY KEY (proposal_id, factory_id, package_id)
);
CREATE INDEX proposal_assignments_factory_idx ON proposal_assignments (factory_id);

-- A revision's solve job and the proposal it revises: the job's proposals become the next version of that
-- proposal's lineage (written with the job, in the same transaction).
CREATE TABLE proposal_revisions (
    job_id uuid PRIMARY KEY,
    parent_proposal_id uuid NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    changes jsonb NOT NULL
);
