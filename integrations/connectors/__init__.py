"""Pull connectors: scheduled syncs that read customers, orders and activity from a CRM, a
shop, an e-mail tool, a database or a JSON API, and store them through the collection path.

base.py      what a connector kind declares, Page, the errors a read raises
registry.py  the kinds this installation offers (kinds/, one module each)
http.py      the Reader a kind reads with: one origin, rate limits, clear errors
records.py   records → messages (ids from key and updated-at; the backfill flag)
sync.py      one slice of a run: read a page, store it with its cursor, in one transaction
services.py  connections, "Test connection", starting, cancelling and scheduling runs
tasks.py     the slice task and beat's scheduler
own_changes.py  changes our own audience sync made in an e-mail tool (``note_own_change``),
             which its connector does not read back as news
kinds/       one module per kind (rest: any JSON API; file_drop: files in a folder or on SFTP)
folders.py   the file drop's folders: local (inside CDP_FILE_DROP_ROOTS) or SFTP (pinned key)
drops.py     the file drop's stream store: a new file → a file import, then done/ or failed/
"""
