-- The hub's tables as they stood when migrations began (every earlier file is adopted: IF NOT EXISTS).
-- One text for both dialects: {serial_pk}, {blob} and {without_rowid} are filled in per dialect
-- (hub/storage/migrations.py). Times are ISO-8601 text, flags integers, on both.

-- Advisors: only a password hash (argon2), never the password.
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT, created_at TEXT
);
-- Logged-in advisors (hub/sessions.py): the cookie's hash, never the cookie; gone with the user.
CREATE TABLE IF NOT EXISTS advisor_sessions (
    sid_hash TEXT PRIMARY KEY, username TEXT, csrf TEXT, expires_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_advisor_sessions_username ON advisor_sessions (username);
-- The booth registry; the device token is stored as a SHA-256 hash.
CREATE TABLE IF NOT EXISTS booths (
    booth_id TEXT PRIMARY KEY, name TEXT, location TEXT, token_hash TEXT, created_at TEXT, revoked INTEGER
);
-- Exactly the consented fields (DEVELOPERS.md, point 2) plus the expiry; no advisor, no time.
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY, customer_number TEXT, name TEXT, ip_address TEXT, os TEXT, device TEXT,
    browser TEXT, upload_kbps DOUBLE PRECISION, download_kbps DOUBLE PRECISION, quality TEXT, expires_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_calls_expires_at ON calls (expires_at);
-- Which session a call row belongs to, so a withdrawal after the call deletes it: a hash of
-- booth and session id (the booth names its session, the hash keeps other booths out).
CREATE TABLE IF NOT EXISTS call_sessions (
    call_id TEXT PRIMARY KEY, session_hash TEXT, expires_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_call_sessions_expires_at ON call_sessions (expires_at);

CREATE TABLE IF NOT EXISTS user_roles (
    username TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (username, role)
) {without_rowid};

-- Issue 17: the booths' latest health and the technicians' audit trail.
CREATE TABLE IF NOT EXISTS booth_health (
    booth_id TEXT PRIMARY KEY, report TEXT NOT NULL, received_at TEXT NOT NULL
) {without_rowid};
CREATE TABLE IF NOT EXISTS fleet_audit (
    id {serial_pk}, at TEXT NOT NULL, username TEXT NOT NULL, booth_id TEXT NOT NULL,
    action TEXT NOT NULL, forced INTEGER NOT NULL, outcome TEXT NOT NULL
);

-- Anonymous statistics (hub/stats.py): counts per day and location, no person in them.
CREATE TABLE IF NOT EXISTS stats_daily (
    day TEXT NOT NULL, location TEXT NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0, walk_ins INTEGER NOT NULL DEFAULT 0,
    appointments INTEGER NOT NULL DEFAULT 0, calls_ended INTEGER NOT NULL DEFAULT 0,
    call_s_total INTEGER NOT NULL DEFAULT 0, quality_good INTEGER NOT NULL DEFAULT 0,
    quality_fair INTEGER NOT NULL DEFAULT 0, quality_poor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, location)
) {without_rowid};
CREATE TABLE IF NOT EXISTS stats_wait (
    day TEXT NOT NULL, location TEXT NOT NULL, bucket_s INTEGER NOT NULL,
    waits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, location, bucket_s)
) {without_rowid};
CREATE TABLE IF NOT EXISTS stats_survey (
    week TEXT NOT NULL, location TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    responses INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (week, location, question, answer)
) {without_rowid};

-- Appointments (hub/appointments.py).
CREATE TABLE IF NOT EXISTS appointments (
    appointment_id TEXT PRIMARY KEY, starts_at TEXT, duration_min INTEGER, language TEXT,
    customer_number TEXT, name TEXT, status TEXT, sequence INTEGER, created_by TEXT, updated_at TEXT,
    expires_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_appointments_expires_at ON appointments (expires_at);
-- One row per person invited. Extra participants: role and e-mail only, never a name, and the
-- customer's prior agreement to them: recorded by which advisor, when (a peer link needs it).
CREATE TABLE IF NOT EXISTS appointment_participants (
    participant_id TEXT PRIMARY KEY, appointment_id TEXT, role TEXT, email TEXT, token_hash TEXT,
    code_hash TEXT, agreed_by TEXT, agreed_at TEXT, expires_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_appointment_participants_token_hash ON appointment_participants (token_hash);
CREATE INDEX IF NOT EXISTS idx_appointment_participants_code_hash ON appointment_participants (code_hash);

-- Mails waiting to go out (hub/outbox.py).
CREATE TABLE IF NOT EXISTS mail_outbox (
    mail_id {serial_pk}, appointment_id TEXT, role TEXT, kind TEXT, recipient TEXT, message {blob},
    status TEXT, attempts INTEGER, next_attempt_at TEXT, last_error TEXT, created_at TEXT, sent_at TEXT,
    expires_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_mail_outbox_status_next_attempt_at ON mail_outbox (status, next_attempt_at);

-- Home participants' passes (hub/guest_passes.py): a hash of the cookie, never the cookie.
CREATE TABLE IF NOT EXISTS guest_passes (
    pass_hash TEXT PRIMARY KEY, participant_id TEXT, appointment_id TEXT, expires_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_guest_passes_expires_at ON guest_passes (expires_at);
-- The calls a pass took part in: what a withdrawal deletes at once. Gone with the pass.
-- surveyed: that call's one survey answer was counted (the answers themselves stay anonymous,
-- hub/stats.py); a link cannot fill in the survey a hundred times.
CREATE TABLE IF NOT EXISTS guest_pass_calls (
    call_id TEXT PRIMARY KEY, pass_hash TEXT, expires_at TEXT, surveyed INTEGER
);
CREATE INDEX IF NOT EXISTS idx_guest_pass_calls_expires_at ON guest_pass_calls (expires_at);

-- Enrolment (hub/enrolment.py): codes by hash; the public key each booth enrolled with proves
-- later which device holds the credential.
CREATE TABLE IF NOT EXISTS enrolment_codes (
    code_hash TEXT PRIMARY KEY, booth_id TEXT, created_at TEXT, expires_at TEXT, used_at TEXT
);
CREATE TABLE IF NOT EXISTS booth_keys (
    booth_id TEXT PRIMARY KEY, public_key TEXT, enrolled_at TEXT
);

-- The consent record of a participant joining from home (on a booth, the booth stores it),
-- with whose link it was given: a withdrawal deletes that participant's record only.
CREATE TABLE IF NOT EXISTS guest_consents (
    session_id TEXT PRIMARY KEY, participant_id TEXT, language TEXT, text_hash TEXT, consented_at TEXT,
    expires_at TEXT
);
