"""HTML input for segments: the name and description beside the builder's rule."""

from django import forms

from profiles.models import IdentifierKind

from .models import Segment


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=Segment._meta.get_field("name").max_length)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the segment is for, for the people who use it.",
    )
    include_restricted = forms.BooleanField(
        label="Count people restricted by a privacy request",
        required=False,
        help_text="Off: they are not members. On: they are counted and listed, but no "
        "campaign, journey or export acts on them either way.",
    )

    on_site = forms.BooleanField(
        label="Use on the website and in apps",
        required=False,
        help_text="A source's personalisation settings may then show a visitor that they "
        "are in this segment (GET /v1/personalize). Only sources that choose it show it.",
    )

    def clean_name(self):
        return self.cleaned_data["name"].strip()


class StaticListForm(SegmentForm):
    """A new uploaded list: its name and description, and the CSV file of its members."""

    file = forms.FileField(
        label="CSV file",
        help_text="One column per identifier (email, user_id, phone, …), or two columns "
        "kind,value. Other columns are ignored.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    kind = forms.ChoiceField(
        label="Identifier in a one-column file",
        required=False,
        help_text="Only for a file with one column of values: which identifier they are.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = IdentifierKind.objects.order_by("-priority", "name").values_list("name", "label")
        self.fields["kind"].choices = [("", "Read it from the file's header"), *kinds]
