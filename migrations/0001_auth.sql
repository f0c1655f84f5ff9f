-- Organisations, users, sessions, buyers and their API keys.
-- Identifiers are random UUIDs so that ids shown to clients say nothing about volumes or order.

CREATE TABLE organisations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind text NOT NULL CHECK (kind IN ('factory', 'buyer', 'cluster_office')),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email) AND email LIKE '%_@_%'),
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('factory_owner', 'coordinator')),
    display_name text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
    organisation_id uuid REFERENCES organisations (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);

-- Opaque bearer tokens: only a SHA-256 of the token is stored, so a database leak yields no usable token.
CREATE TABLE auth_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);

CREATE TABLE buyers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL UNIQUE REFERENCES organisations (id),
    country char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    contact_email text CHECK (contact_email IS NULL OR length(contact_email) <= 254),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    buyer_id uuid NOT NULL REFERENCES buyers (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The first characters of the key, kept in clear so that a buyer can tell its keys apart.
    prefix text NOT NULL CHECK (length(prefix) BETWEEN 8 AND 16),
    key_hash bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by_user_id uuid REFERENCES users (id),
    created_by_api_key_id uuid REFERENCES api_keys (id),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_keys_buyer_idx ON api_keys (buyer_id);
