from django.conf import settings
from django.db import models
from django.utils import timezone


class TraitRectification(models.Model):
    """A trait's value corrected by hand (a person's right to rectification), with who
    set it, when, why and the value it replaced: part of the trait's provenance.

    While it stands (``removed_at`` empty) it is the current value, whatever any source
    states before or after: a source that keeps sending the wrong value must not undo a
    correction the person asked for. A person ends it (``removed_at``, ``removed_by``),
    or a newer correction of the same trait does; the row stays as history. It follows
    its profile through merges like the other facts without an identity."""

    id = models.BigAutoField(primary_key=True)
    profile = models.ForeignKey("Profile", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=120)
    value = models.JSONField()
    previous_value = models.JSONField(null=True, blank=True)  # the current value it replaced
    reason = models.TextField(max_length=1000)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key", "-set_at", "-id"]
        indexes = [models.Index(fields=["profile", "key"], name="rectification_profile_key")]

    def __str__(self) -> str:
        return f"{self.key} corrected on profile {self.profile_id}"

    @property
    def standing(self) -> bool:
        return self.removed_at is None
