-- Single sign-on (hub/sso_accounts.py, hub/sso_oidc.py): which directory account a hub user is,
-- and the sign-ins under way (each expires after pending_s).
CREATE TABLE IF NOT EXISTS sso_links (
    username TEXT PRIMARY KEY, source TEXT NOT NULL, subject TEXT NOT NULL,
    UNIQUE (source, subject)
);
CREATE TABLE IF NOT EXISTS sso_pending (
    state_hash TEXT PRIMARY KEY, browser_hash TEXT NOT NULL, nonce TEXT NOT NULL,
    verifier TEXT NOT NULL, expires_at TEXT NOT NULL
);
-- The update rollout under way (hub/rollout.py), one row: every hub on this database advances it.
CREATE TABLE IF NOT EXISTS fleet_rollout (
    id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, updated_at TEXT NOT NULL
);
