"""The form that starts an audience sync; it validates, then calls the service."""

from django import forms

from integrations.destinations.audiences import SYNC_KINDS
from integrations.destinations.models import Destination
from segments.models import Segment


class AudienceSyncForm(forms.Form):
    name = forms.CharField(max_length=120)
    segment = forms.ModelChoiceField(queryset=Segment.objects.all())
    destination = forms.ModelChoiceField(
        queryset=Destination.objects.filter(kind__in=SYNC_KINDS, enabled=True),
        help_text="Ad platform destinations an admin set up (Meta, Google Data Manager).",
    )
    audience_id = forms.CharField(
        label="Audience id",
        max_length=40,
        help_text="The platform's number for the audience: Meta's custom audience id, or "
        "the Google Ads Customer Match list id. Create the audience there first.",
    )
