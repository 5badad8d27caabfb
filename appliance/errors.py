"""Domain errors of the booth daemon. Each carries a message a person can act on."""


class ApplianceError(Exception):
    """Base class for every error the booth daemon reports to a person."""


class ConfigError(ApplianceError):
    """The booth's config file is missing, unreadable or has a wrong value.

    The message names the file, the key, the value and what is allowed.
    """


class StoreError(ApplianceError):
    """The local store cannot be opened or written."""


class InvalidMessage(ApplianceError):
    """A message from the kiosk UI did not match its schema."""


class Refused(ApplianceError):
    """A session action's guard said no (e.g. "Weiter" before every check passed)."""


class UnknownEvent(ApplianceError):
    """An event name the booth's state machine does not know (a programming or UI error)."""


class DeviceUnavailable(ApplianceError):
    """A device the booth needs (camera, microphone, speaker) is missing or cannot be opened."""
