-- anchored's PostgreSQL store, schema version 2: the ECR token cache the
-- replicas share (pkg/pgstore/ecr.go). The token (the registry password
-- AWS hands out) is sealed; the key names the account, the registry host
-- and the credentials without a secret (ecr.CacheKey).
CREATE TABLE ecr_tokens (
    key             text PRIMARY KEY,
    username        text NOT NULL,
    sealed_password bytea NOT NULL,
    proxy_endpoint  text NOT NULL,
    requested_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);

---- create above / drop below ----

DROP TABLE ecr_tokens;
