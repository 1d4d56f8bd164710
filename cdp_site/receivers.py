"""Receivers of allauth's account signals (connected in CdpSiteConfig.ready)."""

from allauth.account.signals import password_changed, password_reset, password_set
from django.dispatch import receiver

from . import services


@receiver(password_changed, dispatch_uid="cdp-revoke-tokens-on-password-change")
@receiver(password_set, dispatch_uid="cdp-revoke-tokens-on-password-set")
@receiver(password_reset, dispatch_uid="cdp-revoke-tokens-on-password-reset")
def revoke_tokens_on_new_password(sender, request, user, **kwargs):
    """A new password revokes the user's API tokens: whoever learnt the old password (the
    reason to change it) may have made a token with it."""
    services.revoke_api_tokens_of(user=user)
