from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from cdp_site.audit import acting_as
from cdp_site.services import TokenExpired, authenticate_api_token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token cdp_…`` (``Bearer`` also accepted); acts as the token's owner."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            token = authenticate_api_token(plaintext=header[1])
        except TokenExpired as expired:
            raise exceptions.AuthenticationFailed(
                f"This token expired at {expired.expires_at:%Y-%m-%d %H:%M} UTC. "
                "Create a new one under Settings."
            ) from None
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        acting_as(token.user)  # for the audit trail of what this request changes
        return token.user, token

    def authenticate_header(self, request):
        return "Token"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <your token>`",
        }
