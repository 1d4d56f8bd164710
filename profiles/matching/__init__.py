"""Probabilistic matching: finds the same person across sources when no identifier is
shared (Splink on DuckDB). ``standardise`` puts values in one form; ``fields`` says which
traits feed which standard field."""
