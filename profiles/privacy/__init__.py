"""Data subject requests (GDPR arts. 15, 17, 18): a person asks, by any identifier they
are known by, for a copy of their data (access), its erasure, or a stop to its use
(restriction). Requests are recorded with who asked, how the identity was verified and the
legal due date; running one resolves the person (selectors.py), then exports through the
personal-data registry into a ZIP behind an expiring signed link (archive.py), erases
through it and hands the identifiers to the registered suppressors, or flags the
profiles restricted (services.py). An erasure then reaches every destination that received
the person, one job per destination with its own retries and dead letter
(propagation.py). Pages in views.py (mounted by profiles/urls.py under
privacy/), REST API in api_views.py (mounted by profiles/api/urls.py)."""
