"""Recommendations (registered with the app via campaigns/models.py).

Items are keyed by their SKU (an order line's ``sku``, else its ``product_id``), the way
order and view events name them; a list stores the catalogue products (integrations_product
ids) offered for those SKUs when it was computed.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models


class Recommendation(models.Model):
    """One person's recommended products of one kind, best first.

    Rebuilt whole by each run (compute.py); the selector filters what went out of stock
    or was deleted since. Keyed by the profile (a distribution column for Citus).
    """

    class Kind(models.TextChoices):
        BOUGHT_TOGETHER = "bought_together", "Bought together with what they bought"
        POPULAR_IN_CATEGORY = "popular_in_category", "Popular in their favourite category"
        VIEWED_NOT_BOUGHT = "viewed_not_bought", "Viewed but not bought"

    # A plain id, as the other per-person tables of campaigns keep it: a merge recomputes
    # the survivor's lists and an erasure deletes them (campaigns/personal_data.py).
    profile_id = models.BigIntegerField()
    kind = models.CharField(max_length=30, choices=Kind.choices)
    product_ids = ArrayField(models.BigIntegerField())
    # The favourite category (popular_in_category), shown beside the list.
    category = models.CharField(max_length=255, blank=True, default="")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["profile_id", "kind"], name="recommendation_profile_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of profile {self.profile_id}"


class ItemNeighbour(models.Model):
    """Bought together: ``neighbour`` was in the same orders as ``sku`` (``together``
    orders); ``score`` is their cosine similarity over orders. Only offered neighbours."""

    # Byte order (compute.py: item keys are sorted by the million).
    sku = models.TextField(db_collation="C")
    neighbour = models.TextField(db_collation="C")
    together = models.IntegerField()
    score = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["sku"], name="itemneighbour_sku")]

    def __str__(self) -> str:
        return f"{self.sku} → {self.neighbour}"


class CategoryTop(models.Model):
    """The most bought offered products of a category (by how many people bought them)."""

    category = models.CharField(max_length=255, db_collation="C")
    sku = models.TextField(db_collation="C")
    buyers = models.IntegerField()
    rank = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["category", "rank"], name="categorytop_category_rank")]

    def __str__(self) -> str:
        return f"{self.category} #{self.rank}: {self.sku}"
