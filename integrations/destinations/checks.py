"""System check: destinations' credentials need CDP_ENCRYPTION_KEYS (production)."""

from django.core import checks


@checks.register(checks.Tags.security)
def encryption_keys_check(app_configs=None, **kwargs):
    from cdp_site import crypto

    problem = crypto.check_keys()
    if problem:
        return [checks.Error(problem, id="cdp.E101")]
    return []
