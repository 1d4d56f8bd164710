"""Audience sync: a segment kept in step with an ad platform's audience (models.py,
changes.py reads the change records, sync.py sends, services.py for people's actions)."""
