"""Declaring what a view needs: ``@requires``, ``@public`` and the CBV mixin."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .permissions import Cap, capability_for, has_capability


def _check(request, declared) -> None:
    if not has_capability(request.user, capability_for(declared, request.method)):
        raise PermissionDenied


def requires(read: Cap, *, write: Cap | None = None):
    """Function-view decorator: ``read`` for GET/HEAD/OPTIONS, ``write`` (or ``read``) otherwise."""
    declared = (read, write) if write else read

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            _check(request, declared)
            return view(request, *args, **kwargs)

        wrapper.required_capability = declared
        return wrapper

    return decorate


def public(reason: str):
    """Marks a view as open to anyone; the reason is kept for the matrix test's report."""

    def decorate(view):
        view.public_reason = reason
        return view

    return decorate


class RequiresCapability:
    """Class-based-view mixin; set ``required_capability`` to a Cap or (read, write)."""

    required_capability = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        _check(request, self.required_capability)
        return super().dispatch(request, *args, **kwargs)
