"""HTML input for segments: the name and description beside the builder's rule."""

from django import forms

from .models import Segment


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=Segment._meta.get_field("name").max_length)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the segment is for, for the people who use it.",
    )

    def clean_name(self):
        return self.cleaned_data["name"].strip()
