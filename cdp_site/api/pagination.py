from rest_framework.pagination import CursorPagination


class CreatedCursorPagination(CursorPagination):
    """Newest first; stable under inserts, unlike page numbers."""

    ordering = "-id"
    page_size_query_param = "limit"
    max_page_size = 500
