"""The suppression list: identifiers of erased people, kept only as keyed hashes, so that
nobody erased comes back. Checked at the door (``ingest_messages``: the API, webhooks,
file imports and pull syncs all pass there) and, exactly, when events are processed
(profiles' resolution drops an event carrying a suppressed identifier and deletes its
raw row). See services.py for the contract."""
