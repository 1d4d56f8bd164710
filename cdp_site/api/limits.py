"""Bounds of the numbers the API takes, for serializer fields declared by hand.

A ModelSerializer's own fields take their bounds from the model field; a field declared
by hand does not, and a number past its column's range fails in PostgreSQL (a 500)
instead of answering 400. Every hand-declared integer that is stored or queried gets one
of these as ``max_value``."""

SMALLINT_MAX = 32_767  # PositiveSmallIntegerField, SmallIntegerField
INTEGER_MAX = 2_147_483_647  # IntegerField, PositiveIntegerField
BIGINT_MAX = 9_223_372_036_854_775_807  # BigIntegerField, BigAutoField ids
# Counts of days become timedeltas (at most 999,999,999 days in Python) and dates (year
# 9999 at most): a century is more than any window or wait means.
DAYS_MAX = 36_500
