from allauth.account.adapter import DefaultAccountAdapter


class ClosedSignupAdapter(DefaultAccountAdapter):
    """Accounts are created by admins (Settings → Users); nobody signs up alone."""

    def is_open_for_signup(self, request):
        return False
