"""The quarantine: stored events that processing could not handle, set aside with why,
listed per source and replayed by an admin after a fix (services, selectors, pages)."""
