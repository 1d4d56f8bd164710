"""The rules of profiles: identity rules (identifier kinds, blocked values, settings, what a
source's userId means) and their dry run, computed-trait definitions, trait survivorship
and stage rules; their pages (views.py, mounted by profiles/urls.py) and their API
(api_views.py, mounted by profiles/api/urls.py)."""
