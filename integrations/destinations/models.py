"""Destinations: where activation sends data (e-mail over SMTP, webhooks, ad audiences,
an e-mail platform's list, CSV files). Settings that are not secret live in ``config``;
credentials only encrypted in ``secrets_encrypted`` (see cdp_site/crypto.py)."""

from django.db import models


class Destination(models.Model):
    class Kind(models.TextChoices):
        SMTP = "smtp", "E-mail (SMTP)"
        WEBHOOK = "webhook", "Webhook"
        GOOGLE_CUSTOMER_MATCH = "google_customer_match", "Google Customer Match audience"
        META_CUSTOM_AUDIENCE = "meta_custom_audience", "Meta Custom Audience"
        GOOGLE_DATA_MANAGER = "google_data_manager", "Google Customer Match (Data Manager API)"
        ESP_LIST = "esp_list", "E-mail platform list"
        CSV_EXPORT = "csv_export", "CSV export to a folder"
        SMS = "sms", "SMS (Twilio-compatible API)"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, default="")
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class DeadLetter(models.Model):
    """A request a destination refused until retries ran out: kept with its error, and
    replayable from the destination's page."""

    id = models.BigAutoField(primary_key=True)
    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="dead_letters"
    )
    payload = models.JSONField()
    idempotency_key = models.CharField(max_length=200, blank=True, default="")
    error = models.TextField()
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.destination_id}: {self.error[:40]}"
