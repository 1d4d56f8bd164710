from rest_framework.permissions import BasePermission

from cdp_site.permissions import capability_for, has_capability


class HasCapability(BasePermission):
    """Checks the view's ``required_capability`` (a Cap, or a (read, write) pair).

    A view without a declaration is refused: forgetting to declare fails closed.
    """

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        declared = getattr(view, "required_capability", None)
        if declared is None or not request.user or not request.user.is_authenticated:
            return False
        return has_capability(request.user, capability_for(declared, request.method))
