-- anchored's PostgreSQL store, schema version 1 (tern migration).
-- Secrets are sealed by the binary (XChaCha20-Poly1305, pkg/pgstore/seal.go):
-- the database only ever holds their ciphertext.

-- The sealing key's salt and work factor, and a value sealed under the key,
-- so that a replica with the wrong passphrase refuses to start.
CREATE TABLE anchored_meta (
    id        int PRIMARY KEY CHECK (id = 1),
    kdf_salt  bytea NOT NULL,
    kdf_log_n int NOT NULL,
    verifier  bytea NOT NULL
);

CREATE TABLE accounts (
    name         text PRIMARY KEY,
    email        text NOT NULL,
    type         text NOT NULL,
    state        text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_updated timestamptz NOT NULL
);

CREATE TABLE users (
    username      text PRIMARY KEY,
    account       text NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    uuid          text NOT NULL,
    type          text NOT NULL,
    source        text NOT NULL,
    -- Anchore's plaintext-password mode (hashed_passwords off): sealed.
    sealed_password bytea,
    -- hashed_passwords on: the scrypt PHC string (a hash, not sealed).
    password_hash text NOT NULL,
    generation    bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    last_updated  timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_uuid ON users (uuid) WHERE uuid <> '';
CREATE INDEX users_account ON users (account);

-- Registry entries are keyed by account name without a foreign key: the
-- helper may store entries for an account the API has not made yet.
CREATE TABLE registries (
    account      text NOT NULL,
    registry     text NOT NULL,
    name         text NOT NULL,
    type         text NOT NULL,
    username     text NOT NULL,
    sealed_pass  bytea NOT NULL,
    verify       boolean NOT NULL,
    server_url   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_updated timestamptz NOT NULL,
    PRIMARY KEY (account, registry)
);

-- Signing keys, shaped for rotation: the newest signs, every key whose
-- verify_until is unset or in the future verifies.
CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    alg          text NOT NULL,
    sealed_private bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    verify_until timestamptz
);

---- create above / drop below ----

DROP TABLE signing_keys;
DROP TABLE registries;
DROP TABLE users;
DROP TABLE accounts;
DROP TABLE anchored_meta;
