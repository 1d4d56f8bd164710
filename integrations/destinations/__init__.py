from . import checks  # noqa: F401 (registers the CDP_ENCRYPTION_KEYS system check)
