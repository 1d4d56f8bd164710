from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination

INVALID_CURSOR = {"cursor": ["Invalid cursor: pass the `next` or `previous` link as it is."]}


class CreatedCursorPagination(CursorPagination):
    """Newest first; stable under inserts, unlike page numbers.

    A cursor that is not one this API gave (undecodable, or a position that is no value of
    the ordering field) is a bad query parameter: 400 naming ``cursor``, where DRF answers
    404 for the first and fails on the second.
    """

    ordering = "-id"
    page_size_query_param = "limit"
    max_page_size = 500

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(INVALID_CURSOR) from None

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, DjangoValidationError):
            raise exceptions.ValidationError(INVALID_CURSOR) from None
