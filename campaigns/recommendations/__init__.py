"""Product recommendations per person, computed in bulk in PostgreSQL and stored.

models.py     Recommendation (a person's list of one kind), and the item tables behind them
compute.py    the SQL: order lines, item neighbours, category tops, per-person lists
services.py   recompute_all (the scheduled run), recompute_for (a person whose orders changed)
selectors.py  recommendations_for(profile_id=, kind=, limit=): others may use it
context.py    the ``recommendations`` of message templates
views.py      the profile page's panel and the catalogue page; api.py the REST API
"""
