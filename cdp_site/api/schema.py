"""The OpenAPI schema's error answers: every operation declares the errors it can give, in
the API's one error shape (cdp_site/api/errors.py), so that clients and the schema fuzzer
(tests/cdp_site/test_api_schema_fuzz.py) know every status code they may get."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error shape of the API.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Per field (or query parameter), what is wrong with it.",
                    "additionalProperties": True,
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

ERROR_REF = {"$ref": "#/components/schemas/Error"}

# Any request can be refused as malformed (a query parameter with a NUL, a body that is
# no JSON), unauthenticated, beyond the caller's role or throttled.
EVERY_OPERATION = {
    "400": "Invalid input: `fields` names each bad field or parameter.",
    "401": "No valid API token (missing, revoked or expired).",
    "403": "Your role does not allow this.",
    "429": "Too many requests: wait for the `Retry-After` seconds.",
}
WITH_PATH_PARAMETERS = {"404": "No such object."}
# An operation that reads a body refuses one whose media type it does not read, or a
# multipart body it cannot parse (DRF names the media type it could not read).
WITH_BODY = {"415": "Unsupported media type: send JSON (or a form)."}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error answers above on every operation, and
    the error shape as the body of those a view declared with a description alone
    (``extend_schema(responses={409: OpenApiResponse(description=...)})``)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    body = {"application/json": {"schema": ERROR_REF}}
    for path, operations in result.get("paths", {}).items():
        errors = {**EVERY_OPERATION, **(WITH_PATH_PARAMETERS if "{" in path else {})}
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            declared = {**errors, **(WITH_BODY if "requestBody" in operation else {})}
            for status, description in declared.items():
                responses.setdefault(status, {"description": description, "content": body})
            for status, response in responses.items():
                if status.startswith("4") and "content" not in response:
                    response["content"] = body
    return result
