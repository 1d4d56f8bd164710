from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class ConsentPurpose(models.Model):
    """A purpose people consent to, and where incoming data states it.

    ``category_keys`` are the keys of ``context.consent.categoryPreferences`` that mean
    this purpose; ``trait_keys`` are identify traits that do (e.g. ``marketingOptIn``).
    """

    slug = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=80)
    category_keys = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    trait_keys = ArrayField(models.CharField(max_length=80), default=list, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.label


class ConsentRecord(models.Model):
    class Status(models.TextChoices):
        GRANTED = "granted", "Granted"
        DENIED = "denied", "Denied"
        WITHDRAWN = "withdrawn", "Withdrawn"

    profile = models.ForeignKey("Profile", on_delete=models.CASCADE, related_name="consents")
    # The identity the statement came through (None when a person recorded it in the UI):
    # it decides where the record goes when a merge is undone.
    identity = models.ForeignKey("Identity", null=True, blank=True, on_delete=models.SET_NULL)
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.CASCADE)
    status = models.CharField(max_length=12, choices=Status.choices)
    source = models.ForeignKey(
        "integrations.Source", null=True, blank=True, on_delete=models.SET_NULL
    )
    recorded_at = models.DateTimeField()
    evidence = models.JSONField(default=dict, blank=True)
    event_id = models.BigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        indexes = [
            models.Index(fields=["profile", "purpose", "-recorded_at"], name="consent_profile_time")
        ]

    def __str__(self) -> str:
        return f"{self.purpose_id}: {self.status}"
