"""Receivers of the account signals, allauth's and Django's (connected in
CdpSiteConfig.ready)."""

from allauth.account.signals import password_changed, password_reset, password_set
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from . import audit, services


@receiver(password_changed, dispatch_uid="cdp-revoke-tokens-on-password-change")
@receiver(password_set, dispatch_uid="cdp-revoke-tokens-on-password-set")
@receiver(password_reset, dispatch_uid="cdp-revoke-tokens-on-password-reset")
def revoke_tokens_on_new_password(sender, request, user, **kwargs):
    """A new password revokes the user's API tokens: whoever learnt the old password (the
    reason to change it) may have made a token with it."""
    services.revoke_api_tokens_of(user=user)


@receiver(user_logged_in, dispatch_uid="cdp-audit-sign-in")
def audit_sign_in(sender, request, user, **kwargs):
    audit.record(action="auth.sign_in", actor=user, target=user)


@receiver(user_login_failed, dispatch_uid="cdp-audit-failed-sign-in")
def audit_failed_sign_in(sender, credentials, request=None, **kwargs):
    """The login typed is kept as a keyed hash only (it may be a person's e-mail)."""
    login = next((str(v) for k, v in credentials.items() if k in LOGIN_FIELDS and v), "")
    audit.record(action="auth.sign_in_failed", details={"login": audit.hashed(login)})


LOGIN_FIELDS = ("username", "email", "login")
