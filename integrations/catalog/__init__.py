"""The product catalogue: what a shop sells, filled by connectors (and later file imports),
read by templates and recommendations.

models.py     Product: one sellable item (a variant) of one source
services.py   upsert_products: validated rows in, the newer version of each row kept
selectors.py  reads others may use
"""
