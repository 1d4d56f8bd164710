"""The product catalogue (registered with the app via integrations/models.py)."""

from django.db import models


class Product(models.Model):
    """One sellable item of one source: a shop's product variant, with its SKU and price.

    Keyed by the source and the item's id at the source (``external_id``: a Shopify
    variant id), since SKUs may be blank or repeated in a shop. ``updated_at`` is the
    source's own time of the last change: an older version never overwrites a newer one.
    ``deleted_at``: the source deleted it; only a version changed after that brings it back.
    Not personal data: no profile id, nothing for privacy requests to erase.
    """

    source = models.ForeignKey(
        "integrations.Source", on_delete=models.CASCADE, related_name="products"
    )
    external_id = models.CharField(max_length=200)
    product_id = models.CharField(max_length=200, blank=True, default="")
    sku = models.CharField(max_length=200, blank=True, default="")
    name = models.CharField(max_length=500)
    category = models.CharField(max_length=255, blank=True, default="")
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    image_url = models.URLField(max_length=1000, blank=True, default="")
    url = models.URLField(max_length=1000, blank=True, default="")
    in_stock = models.BooleanField(default=True)
    # Offered at all (a draft or archived product is kept, but not recommended).
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    # When the source deleted it (a Shopify product deletion event): kept, for the orders
    # and messages that name it, but no longer offered.
    deleted_at = models.DateTimeField(null=True, blank=True)
    stored_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="product_source_key")
        ]
        indexes = [models.Index(fields=["sku"], name="product_sku_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku or self.external_id})"
