"""The one retention rule booth and hub both keep: the consent text promises that personal rows
are deleted after 14 days. Each side's config may set a shorter period, never a longer one.
"""

MAX_RETENTION_DAYS = 14
