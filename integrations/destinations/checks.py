"""System check: destinations' credentials need CDP_ENCRYPTION_KEYS (production)."""

from django.core import checks

from cdp_site import crypto


@checks.register(checks.Tags.security)
def encryption_keys_check(app_configs=None, **kwargs):

    problem = crypto.check_keys()
    if problem:
        return [checks.Error(problem, id="cdp.E101")]
    return []
