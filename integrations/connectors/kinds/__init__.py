"""Connector kinds, one module each (see ../base.py); ../registry.py lists them."""
