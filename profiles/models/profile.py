from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Lower

from .stage import Stage


class Profile(models.Model):
    """One person. ``traits``, ``computed`` and ``consent`` are the current values,
    denormalised for reads and segments; their history lives in TraitValue,
    ComputedTrait definitions and ConsentRecord."""

    id = models.BigAutoField(primary_key=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_profiles"
    )
    display_name = models.CharField(max_length=200, blank=True, default="")
    stage = models.CharField(max_length=20, choices=Stage.choices, blank=True, default="")
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    computed = models.JSONField(default=dict, blank=True)
    consent = models.JSONField(default=dict, blank=True)
    # The current e-mail may be written to: a server source or a signed call stated it,
    # or its owner confirmed it (double opt-in). Kept with the current traits.
    email_confirmed = models.BooleanField(default=True, db_default=True)
    # Restricted by a privacy request (profiles/privacy): no campaign acts on the person
    # (no message, no audience, no webhook); segments count them only when the segment
    # asks to (Segment.include_restricted).
    restricted = models.BooleanField(default=False, db_default=False)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                OpClass(Lower("display_name"), name="text_pattern_ops"),
                name="profile_name_prefix",
                condition=models.Q(merged_into__isnull=True),
            ),
            models.Index(fields=["-last_seen_at"], name="profile_last_seen"),
            # The few restricted people, which every segment evaluation leaves out.
            models.Index(
                fields=["id"], name="profile_restricted", condition=models.Q(restricted=True)
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or f"Profile {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.merged_into_id is None


class EmailConfirmation(models.Model):
    """A double opt-in of an address that only a client source (a website form, an app)
    stated: asked once in a while, confirmed by the link sent to it. Kept per address:
    whoever confirms the mailbox confirms it for every profile that holds it."""

    address = models.CharField(max_length=300, unique=True)  # lower-case
    requested_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.address


class ProfileEvent(models.Model):
    """An event of the events table, resolved to its profile (the table segments,
    computed traits and the timeline read). The raw payload stays in the events table."""

    event_id = models.BigIntegerField(primary_key=True)
    received_at = models.DateTimeField()
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, db_index=False)
    identity = models.ForeignKey("Identity", on_delete=models.PROTECT, db_index=False)
    source = models.ForeignKey("integrations.Source", on_delete=models.PROTECT, db_index=False)
    type = models.CharField(max_length=10)
    name = models.CharField(max_length=200, blank=True, default="")
    timestamp = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    # The event's campaign and page (profiles.touches), NULL when it carried neither.
    context = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["profile", "-timestamp"], name="profileevent_profile_time"),
            models.Index(fields=["identity"], name="profileevent_identity"),
            # Segments: "did X in the last N days" scans X's events in the window once.
            models.Index(fields=["name", "timestamp", "profile"], name="profileevent_name_time"),
            # Segments, per profile: "did X" for the profiles a change touched, index-only.
            models.Index(fields=["profile", "name", "timestamp"], name="profileevent_profile_name"),
            # Attribution reads profileevent_external_touch (migration 0012: only the
            # touches, on a condition Django's Q cannot write).
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name}"


class Merge(models.Model):
    """A merge in the ledger: ``merged`` went into ``survivor``. ``identity_ids`` are the
    identities that moved and ``moved_facts`` the identity-less rows that did; an unmerge
    moves both back."""

    class Reason(models.TextChoices):
        RULE = "rule", "Identity rule"
        MANUAL = "manual", "By a person"
        PROBABILISTIC = "probabilistic", "Probabilistic match"

    survivor = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="merges_in")
    merged = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="merges_out")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    # A probabilistic merge's match probability and the model version that scored it.
    score = models.FloatField(null=True, blank=True)
    model_version = models.BigIntegerField(null=True, blank=True)
    identity = models.ForeignKey("Identity", null=True, blank=True, on_delete=models.SET_NULL)
    event_id = models.BigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    identity_ids = ArrayField(models.BigIntegerField(), default=list)
    # Rows that follow a profile without an identity of their own (consent a person
    # recorded, notes), by table: the unmerge sends these back by id.
    moved_facts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class Note(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["profile", "-created_at"], name="note_profile_time")]

    def __str__(self) -> str:
        return self.body[:40]


class UnresolvedEvent(models.Model):
    """An event no identifier could link (all blocked or malformed). It stays in the
    events table; this row says why it has no profile."""

    event_id = models.BigIntegerField(primary_key=True)
    received_at = models.DateTimeField()
    source = models.ForeignKey("integrations.Source", on_delete=models.CASCADE)
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_id}: {self.reason}"


class LinkRefusal(models.Model):
    """An identifier an event carried that the rules kept from linking (a limit, or a
    merge that would join two known customers): shown on the profile, so that "why were
    these not merged?" has an answer."""

    profile_id = models.BigIntegerField(db_index=True)
    event_id = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    value = models.CharField(max_length=300)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}: {self.reason}"
