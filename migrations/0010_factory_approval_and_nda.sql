-- The cluster office vets each factory before it sees RFQs: a registration is pending until a coordinator
-- approves it. Factories registered before this step existed were working members already: approved.
ALTER TABLE factories
    ADD COLUMN approval_status text NOT NULL DEFAULT 'pending'
        CHECK (approval_status IN ('pending', 'approved', 'rejected')),
    ADD COLUMN approval_note text NOT NULL DEFAULT '' CHECK (length(approval_note) <= 2000),
    ADD COLUMN approval_reviewed_at timestamptz,
    ADD COLUMN approval_reviewed_by uuid REFERENCES users (id);
UPDATE factories SET approval_status = 'approved';
CREATE INDEX factories_pending_idx ON factories (created_at) WHERE approval_status = 'pending';

-- The platform NDA: an owner who accepted it sees RFQs marked ndaRequired.
ALTER TABLE users ADD COLUMN nda_accepted_at timestamptz;
