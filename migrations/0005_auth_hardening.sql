-- Failed sign-ins per account and per client address, shared by every server process: the login throttle.
CREATE TABLE login_throttle (
    key text PRIMARY KEY CHECK (length(key) <= 400),   -- 'account:<email>', 'address:<ip>', 'signup:<ip>'
    failures integer NOT NULL CHECK (failures > 0),
    locked_until timestamptz,
    last_failure_at timestamptz NOT NULL
);

-- Sessions end after a period without use (idle timeout) as well as at their expiry.
ALTER TABLE auth_sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX auth_sessions_expires_idx ON auth_sessions (expires_at);

-- API keys may expire; a key minted by another key is its child (created_by_api_key_id): it cannot outlive
-- its parent and is revoked with it.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
CREATE INDEX api_keys_parent_idx ON api_keys (created_by_api_key_id);
