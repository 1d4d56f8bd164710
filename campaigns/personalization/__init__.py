"""The personalisation API's content (issue 18): what each source may show a visitor
(settings.py), the answer and its sections (answers.py), the cached answers kept current
from the change records (cache.py), and the admin page (views.py). The endpoint itself,
GET /v1/personalize, sits with the collection API (integrations/collect/personalize.py)
and reads only the cache this package writes."""
