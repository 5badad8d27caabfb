"""Domain errors of the hub. Each carries a message a person can act on."""

from __future__ import annotations

import sqlite3


class HubError(Exception):
    """Base class for every error the hub reports to a person."""


class HubConfigError(HubError):
    """The hub's config file is missing, unreadable or has a wrong value (message names the key)."""


class DemoAccountError(HubError):
    """A real (non-demo) hub found the demo account and refuses to start."""


class LoginError(HubError):
    """Wrong user name or password, or the account is locked for a while."""

    def __init__(self, message: str, locked_for_s: float = 0.0) -> None:
        super().__init__(message)
        self.locked_for_s = locked_for_s


class UnknownBooth(HubError):
    """No booth with that id is registered."""


class InvalidBooth(HubError):
    """A booth id, name or location the booth's config (and, for the id, the hub link) would refuse."""


class SsoError(HubError):
    """A single sign-on did not give a session. ``reason`` is what the login page explains
    (hub/console/i18n ``sso_error_<reason>``); the message is for the log, without personal data."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class StorageError(HubError):
    """The hub database cannot be reached or used; the message says which and what to do."""


#: The hub database cannot take a request right now: PostgreSQL away (:class:`StorageError`), or
#: a SQLite file locked by another process past the busy timeout, full, or failing to read or write
#: (``sqlite3.OperationalError``). Both get the same answer: "unavailable", try again shortly.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (StorageError, sqlite3.OperationalError)

# How soon to try the hub database again (a PostgreSQL restart or failover takes seconds): the
# Retry-After of a 503, the outbox's next pass.
STORAGE_RETRY_S = 5


class SchemaTooNew(StorageError):
    """The hub database was migrated by a newer hub than this one (hub/storage/migrations.py)."""
