"""The register of processing: every table and column of both databases (and every key family of
the Redis that several hubs share), and why it is there.

One declared list (database, table, column -> consent item; per table the purpose and the retention)
from which

- the schema tests check both databases in full (``tests/test_register.py``): a table or column
  that is not declared here, or declared and missing, fails;
- ``videokiosk privacy-report`` prints the record of processing activities (GDPR Art. 30) in
  German and English for the office's data-protection officer (texts: ``register_i18n/*.json``).

Consent items name what the consent declaration ("Einwilligungserklärung") lists; ``key`` marks a
column that holds no personal content (a random id, a hash, an expiry), ``booking`` what the office
records before any consent (appointments), ``anonymous`` counts that point to nobody, ``staff``
the office's own staff and devices.

Example::

    >>> sorted(columns("booth")["consents"])
    ['consented_at', 'expires_at', 'language', 'session_id', 'text_hash']
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

I18N = Path(__file__).parent / "register_i18n"
LANGUAGES = ("de", "en")
DATABASES = ("booth", "hub", "redis")


@dataclass(frozen=True)
class Table:
    database: str  # "booth" (booth.db), "hub" (hub.db) or "redis" (live state shared by hubs)
    name: str
    purpose: str  # key into register_i18n/*.json "purpose"
    retention: str  # key into "retention"
    columns: dict[str, str]  # column -> consent item (key into "item")


def _same(item: str, *names: str) -> dict[str, str]:
    return {name: item for name in names}


REGISTER: tuple[Table, ...] = (
    # --- booth.db ------------------------------------------------------------------------------
    Table("booth", "consents", "consent_proof", "days_14",
          {"session_id": "key", "consented_at": "consent_record", "text_hash": "consent_record",
           "language": "consent_record", "expires_at": "key"}),
    Table("booth", "participants", "consultation", "days_14",
          {"session_id": "key", "kind": "key", "customer_number": "customer_number", "name": "name",
           "role": "role", "expires_at": "key"}),
    Table("booth", "technical", "connection", "days_14",
          {"session_id": "key", "ip_address": "ip_address", "operating_system": "operating_system",
           "device": "device", "browser": "browser", "upload_kbps": "rates", "download_kbps": "rates",
           "transmission_quality": "transmission_quality", "expires_at": "key"}),
    Table("booth", "withdrawals", "withdrawal_outbox", "until_delivered", _same("key", "session_id", "expires_at")),
    Table("booth", "survey", "survey", "kept_anonymous", _same("anonymous", "week", "question", "answer", "responses")),
    Table("booth", "daily_stats", "statistics", "kept_anonymous",
          _same("anonymous", "day", "sessions_started", "consents_given", "checks_failed", "waiting_entered",
                "calls", "declined", "cancelled", "timeouts", "withdrawn", "surveys", "wait_s_total",
                "call_s_total")),
    # --- hub.db: the calls ---------------------------------------------------------------------
    Table("hub", "calls", "consultation", "days_14",
          {"call_id": "key", "customer_number": "customer_number", "name": "name", "ip_address": "ip_address",
           "os": "operating_system", "device": "device", "browser": "browser", "upload_kbps": "rates",
           "download_kbps": "rates", "quality": "transmission_quality", "expires_at": "key"}),
    Table("hub", "call_sessions", "withdrawal", "days_14", _same("key", "call_id", "session_hash", "expires_at")),
    Table("hub", "guest_consents", "consent_proof", "days_14",
          {"session_id": "key", "participant_id": "key", "language": "consent_record",
           "text_hash": "consent_record", "consented_at": "consent_record", "expires_at": "key"}),
    Table("hub", "guest_passes", "home_link", "appointment_14",
          _same("key", "pass_hash", "participant_id", "appointment_id", "expires_at", "issued_at")),
    Table("hub", "guest_pass_calls", "withdrawal", "appointment_14",
          _same("key", "call_id", "pass_hash", "expires_at")),
    # --- hub.db: appointments, booked by the office before anyone consents ---------------------
    Table("hub", "appointments", "appointment", "appointment_14",
          {"appointment_id": "key", "starts_at": "booking", "duration_min": "booking", "language": "booking",
           "customer_number": "booking", "name": "booking", "status": "booking", "sequence": "key",
           "created_by": "staff", "updated_at": "key", "expires_at": "key"}),
    Table("hub", "appointment_participants", "appointment", "appointment_14",
          {"participant_id": "key", "appointment_id": "key", "role": "booking", "email": "booking",
           "token_hash": "key", "code_hash": "key", "agreed_by": "staff", "agreed_at": "agreement", "expires_at": "key",
           "list_order": "key"}),
    Table("hub", "mail_outbox", "invitation", "appointment_14",
          {"mail_id": "key", "appointment_id": "key", "role": "booking", "kind": "key", "recipient": "booking",
           "message": "booking", "status": "key", "attempts": "key", "next_attempt_at": "key", "last_error": "key",
           "created_at": "key", "sent_at": "key", "expires_at": "key"}),
    # --- hub.db: anonymous statistics ------------------------------------------------------------
    Table("hub", "stats_daily", "statistics", "kept_anonymous",
          _same("anonymous", "day", "location", "calls", "walk_ins", "appointments", "calls_ended", "call_s_total",
                "quality_good", "quality_fair", "quality_poor")),
    Table("hub", "stats_wait", "statistics", "kept_anonymous", _same("anonymous", "day", "location", "bucket_s", "waits")),
    Table("hub", "stats_survey", "survey", "kept_anonymous",
          _same("anonymous", "week", "location", "question", "answer", "responses")),
    # --- hub.db: the office's staff and devices ------------------------------------------------
    Table("hub", "users", "staff_accounts", "until_removed", _same("staff", "username", "password_hash", "created_at")),
    Table("hub", "user_roles", "staff_accounts", "until_removed", _same("staff", "username", "role")),
    Table("hub", "advisor_sessions", "staff_sessions", "session_end",
          {"sid_hash": "key", "username": "staff", "csrf": "key", "expires_at": "key"}),
    # Single sign-on (hub/sso_*.py): which directory account a hub user is, and sign-ins under way.
    Table("hub", "sso_links", "staff_accounts", "until_removed", _same("staff", "username", "source", "subject")),
    Table("hub", "sso_pending", "staff_sessions", "session_end",
          _same("key", "state_hash", "browser_hash", "nonce", "verifier", "expires_at")),
    Table("hub", "booths", "devices", "until_removed",
          _same("key", "booth_id", "name", "location", "token_hash", "created_at", "revoked")),
    Table("hub", "booth_keys", "devices", "until_removed", _same("key", "booth_id", "public_key", "enrolled_at")),
    Table("hub", "enrolment_codes", "devices", "until_removed",
          _same("key", "code_hash", "booth_id", "created_at", "expires_at", "used_at")),
    # Health reports and technicians' actions (hub/fleet.py): about booths, never about customers.
    Table("hub", "booth_health", "fleet", "until_removed", _same("key", "booth_id", "received_at", "report")),
    Table("hub", "fleet_audit", "fleet_audit", "until_removed",
          {"id": "key", "at": "key", "username": "staff", "booth_id": "key", "action": "key", "forced": "key",
           "outcome": "key"}),
    # The update rollout under way (hub/rollout.py): bundle, version, booth ids, the technician's name.
    Table("hub", "fleet_rollout", "fleet_audit", "until_removed",
          {"id": "key", "state": "staff", "updated_at": "key"}),
    # Which schema migrations the database has had (hub/storage/migrations.py).
    Table("hub", "schema_version", "schema", "until_removed", _same("key", "version", "name", "applied_at")),
    Table("hub", "task_runs", "tasks", "until_removed", _same("key", "name", "last_run_at")),
    # --- Redis, only where several hubs share live state ([state] backend = "redis") ------------
    # Key families under the office's prefix (hub/state_redis.py, hub/backoff_redis.py); columns are
    # the fields the values carry. Redis runs without persistence (docs/scale-out.md): nothing here
    # reaches a disk, and each family goes when its moment is over.
    Table("redis", "queue", "live_state", "while_waiting",
          {"session_id": "key", "booth_id": "key", "booth_name": "staff", "location": "staff", "since": "key",
           "language": "key", "kind": "key", "name": "name", "customer_number": "customer_number",
           "appointment_at": "booking", "state": "key"}),
    Table("redis", "queue:*", "live_state", "while_waiting", _same("key", "session_id", "order")),
    Table("redis", "informed", "live_state", "while_waiting", _same("key", "session_id")),
    Table("redis", "presence", "live_state", "while_online",
          {"booth_id": "key", "name": "staff", "location": "staff", "state": "key", "faults": "key"}),
    Table("redis", "routes", "live_state", "while_in_call",
          {"call_id": "key", "booth_id": "key", "session_id": "key", "advisor": "staff",
           "advisor_channel": "key", "state": "key"}),
    Table("redis", "t:group:*", "group_links", "while_in_call",
          {"call_id": "key", "booth_id": "key", "appointment_id": "key", "role": "role"}),
    Table("redis", "backoff:*", "guess_limits", "minutes_15",
          {"key_hash": "address_hash", "n": "key", "last": "key"}),
)


def columns(database: str) -> dict[str, set[str]]:
    """Table -> declared columns of one database."""
    return {t.name: set(t.columns) for t in REGISTER if t.database == database}


def texts(language: str) -> dict:
    return json.loads((I18N / f"{language}.json").read_text("utf-8"))


def report(language: str) -> str:
    """The record of processing activities (GDPR Art. 30) as plain text in ``language``."""
    t = texts(language)
    lines = [t["title"], "=" * len(t["title"]), "", t["intro"], ""]
    for database in DATABASES:
        lines += [t["database"][database], "-" * len(t["database"][database]), ""]
        for table in (x for x in REGISTER if x.database == database):
            lines.append(f"{table.name}: {t['purpose'][table.purpose]}")
            lines.append(f"  {t['label']['retention']}: {t['retention'][table.retention]}")
            for column, item in table.columns.items():
                lines.append(f"  - {column}: {t['item'][item]}")
            lines.append("")
    lines += [t["measures_title"], *(f"- {m}" for m in t["measures"]), ""]
    return "\n".join(lines)


# --- `videokiosk privacy-report` --------------------------------------------------------------

def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--language", choices=LANGUAGES, action="append",
                        help="de or en (default: both, German first)")


def run(args: argparse.Namespace) -> int:
    print("\n\n".join(report(language) for language in (args.language or LANGUAGES)))
    return 0
