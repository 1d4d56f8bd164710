from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Lower


class IdentifierKind(models.Model):
    """A kind of identifier and its rules: ``priority`` (higher is stronger) decides
    which profile an event belongs to and which identifier gives way at a limit;
    ``max_per_profile`` caps how many of this kind one profile holds."""

    class Normalizer(models.TextChoices):
        TEXT = "text", "As sent (trimmed)"
        LOWER = "lower", "Trimmed, lower-case"
        EMAIL = "email", "E-mail address"
        PHONE = "phone", "Phone number (E.164)"

    name = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=80)
    priority = models.PositiveSmallIntegerField(default=50)
    max_per_profile = models.PositiveIntegerField(null=True, blank=True)
    normalizer = models.CharField(max_length=10, choices=Normalizer.choices, default="text")
    # Traits (identify traits, context.traits) and context.externalIds types carrying it.
    trait_keys = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    builtin = models.BooleanField(default=False)
    # Personal data: masked for whoever lacks Cap.SEE_PERSONAL_DATA (profiles/masking.py).
    personal = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-priority", "name"]

    def __str__(self) -> str:
        return self.label


class IdentitySettings(models.Model):
    """The one row of resolution-wide settings."""

    default_phone_region = models.CharField(max_length=2, default="US")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Identity settings"

    @classmethod
    def load(cls) -> "IdentitySettings":
        return cls.objects.get_or_create(pk=1)[0]


def _granted_by_default() -> list[str]:
    return ["Account manager"]


class PersonalDataSettings(models.Model):
    """The one row saying which roles see personal data in clear (Cap.SEE_PERSONAL_DATA)
    besides Admin, who always does. Read by cdp_site.permissions through the grant
    reader profiles registers; written by profiles.rules.services.set_personal_data_roles."""

    granted_roles = ArrayField(
        models.CharField(max_length=40), default=_granted_by_default, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "personal data settings"

    def __str__(self) -> str:
        return "Personal data settings"

    @classmethod
    def load(cls) -> "PersonalDataSettings":
        return cls.objects.get_or_create(pk=1)[0]


class BlockedValue(models.Model):
    """An identifier value never used to link (``kind`` empty: blocked for every kind).
    Compared after normalisation and case-insensitively."""

    kind = models.ForeignKey(IdentifierKind, null=True, blank=True, on_delete=models.CASCADE)
    value = models.CharField(max_length=200)

    class Meta:
        ordering = ["value"]
        constraints = [
            models.UniqueConstraint(
                "kind", Lower("value"), name="blockedvalue_unique", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return self.value


class SourceIdentity(models.Model):
    """What a source's ``userId`` is: a web account id, a CRM id, a loyalty card..."""

    source = models.OneToOneField(
        "integrations.Source", on_delete=models.CASCADE, related_name="identity_setting"
    )
    user_id_kind = models.ForeignKey(IdentifierKind, on_delete=models.PROTECT)

    def __str__(self) -> str:
        return f"{self.source_id}: {self.user_id_kind_id}"


class Identity(models.Model):
    id = models.BigAutoField(primary_key=True)
    kind = models.ForeignKey(IdentifierKind, on_delete=models.PROTECT)
    value = models.CharField(max_length=300)
    profile = models.ForeignKey("Profile", on_delete=models.CASCADE, related_name="identities")
    source = models.ForeignKey(
        "integrations.Source", null=True, blank=True, on_delete=models.SET_NULL
    )
    # The identity the event was linked through when this one was attached: an unmerge
    # takes along what was attached through the identities it moves back.
    attached_via = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    # False: linked by an unsigned call of a client source whose admin turned
    # verification off (profiles/trust.py); such a link makes no one a known customer.
    verified = models.BooleanField(default=True, db_default=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_kind_value")
        ]
        indexes = [
            models.Index(fields=["profile", "kind"], name="identity_profile_kind"),
            # Search by any identifier, exact or by prefix.
            models.Index(
                OpClass(Lower("value"), name="text_pattern_ops"), name="identity_value_prefix"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind.name}:{self.value}"
