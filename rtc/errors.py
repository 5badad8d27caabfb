"""Domain errors of the call layer. Each carries a message a person can act on."""

from __future__ import annotations


class RtcError(Exception):
    """Base class for errors of the signalling and peer-connection layer."""


class ProtocolError(RtcError):
    """A signalling message was malformed, oversized, of an unknown type or failed its schema.

    ``code`` is what goes back in the ``error`` reply (``too_large``, ``malformed``,
    ``unknown_type``, ``invalid``); ``ref`` names the offending message type when known.
    """

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.ref = ref


class CallError(RtcError):
    """The call could not be set up or carried on (no camera track, remote description refused)."""
