"""Domain errors of provisioning. Each carries a message a technician can act on."""


class ProvisioningError(Exception):
    """Base class for every error provisioning reports to a person."""


class EnrolmentFailed(ProvisioningError):
    """The hub refused the code (wrong, used, expired), could not be reached, or the answer was bad."""


class NotPersistent(ProvisioningError):
    """The enrolment would be written to a read-only root's overlay and vanish at the next reboot."""


class BundleRefused(ProvisioningError):
    """An update bundle cannot be built, or is not signed with the office's key (or was changed)."""
