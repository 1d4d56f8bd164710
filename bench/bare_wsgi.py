"""The baseline server app: reads the body and answers 200 {"success": true}, nothing else.

Run under the same gunicorn settings as the CDP so that the difference between the two
is what Django, the collection API and PostgreSQL add to a request.
"""

BODY = b'{"success": true}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", HEADERS)
    return [BODY]
