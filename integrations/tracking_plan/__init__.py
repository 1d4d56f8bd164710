"""The tracking plan: the events a source is expected to send, each with a JSON Schema for
its properties, and the traits expected with their types; checked at the door.

models.py     plans, their events, which source follows which plan and how, violations
schemas.py    a schema checked when saved (refused at the field), compiled once per plan
              version: a fast predicate for the common keywords, jsonschema for the rest
door.py       ``check``: what ``ingest_messages`` calls beside the suppression screen
services.py   writes: plans, events, traits, sources; violation counts
inference.py  a plan started from the events a source already sent
selectors.py  reads for the pages and the API
"""
