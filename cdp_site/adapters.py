from allauth.account.adapter import DefaultAccountAdapter

from .clientip import client_ip


class ClosedSignupAdapter(DefaultAccountAdapter):
    """Accounts are created by admins (Settings → Users); nobody signs up alone."""

    def is_open_for_signup(self, request):
        return False

    def get_client_ip(self, request):
        # The login rate limits read the address as everything else does
        # (CDP_TRUSTED_PROXY_COUNT), and a short X-Forwarded-For is no 500.
        return client_ip(request) or super().get_client_ip(request)
