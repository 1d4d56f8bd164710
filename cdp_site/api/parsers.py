"""The API's JSON parser: DRF's answers a body nested too deep for Python's decoder
with a 500 (RecursionError is no ValueError); this one answers 400 like any malformed
JSON. The default parser of every API view (settings.REST_FRAMEWORK)."""

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class JSONBodyParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deep.") from None
