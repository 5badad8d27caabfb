"""The enrolment wire format that the booth (``provisioning/enrol.py``) and the hub
(``hub/enrolment.py``) share, so the two cannot drift apart.

``POST /api/enrol`` with JSON ``{"code", "public_key", "signature"}`` (both base64): the booth's
raw Ed25519 public key, and its signature over :func:`signed_message`. The hub answers
``{"booth": {"id", "name", "location"}, "token"}`` or ``{"error", "reason"}`` with a 4xx status.

Example::

    >>> normalise_code("ab1o-xyz9 ")
    'AB10XYZ9'
"""

from __future__ import annotations

ENROL_PATH = "/api/enrol"
SIGNED_PREFIX = b"videokiosk-enrol-v1\n"
# Read-alikes a person may type for the letters Crockford base32 leaves out.
_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def normalise_code(typed: str) -> str:
    """What the person meant: upper case, no dashes or spaces, read-alike letters mapped."""
    return "".join(ch for ch in typed.upper() if ch.isalnum()).translate(_TYPOS)


def signed_message(code: str, public_key: bytes) -> bytes:
    """What the booth signs: binds its key to this code, so the request proves key possession."""
    return SIGNED_PREFIX + normalise_code(code).encode() + b"\n" + public_key
