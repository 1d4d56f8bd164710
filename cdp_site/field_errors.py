"""The refusal every app's services raise for input a person can correct."""


class FieldErrors(Exception):
    """``errors``: [{"field": path of the input ("" for the whole), "message": what to
    do}], shown next to their fields by forms and as a 400 keyed by field by the API."""

    # Whether the text of the exception names each field (a log line) or not (a message
    # for the person, where the field is shown beside it).
    names_fields = True

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__(
            "; ".join(
                f"{e['field']}: {e['message']}" if self.names_fields else e["message"]
                for e in errors
            )
        )
