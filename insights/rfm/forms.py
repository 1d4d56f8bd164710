"""What the RFM pages are asked: nothing for the grid; a cell or a segment for its people."""

from django import forms

from profiles.computed import scores

from .selectors import SCORES, Question

SCORE_CHOICES = [(str(s), str(s)) for s in SCORES]


class RfmForm(forms.Form):
    """The grid has no question: the form exists so that the page reads like the others."""


class RfmPeopleForm(forms.Form):
    r = forms.TypedChoiceField(
        choices=SCORE_CHOICES, coerce=int, required=False, empty_value=None, label="R"
    )
    f = forms.TypedChoiceField(
        choices=SCORE_CHOICES, coerce=int, required=False, empty_value=None, label="F"
    )
    segment = forms.ChoiceField(
        choices=[("", "—"), *((s, s) for s in scores.SEGMENT_ORDER)], required=False
    )

    def clean(self):
        data = super().clean()
        cell = data.get("r") is not None and data.get("f") is not None
        if not self.errors and cell == bool(data.get("segment")):
            raise forms.ValidationError("Choose either a cell (r and f, 1 to 5) or a segment.")
        return data

    def question(self) -> Question:
        data = self.cleaned_data
        if data.get("segment"):
            return Question(segment=data["segment"])
        return Question(r=data["r"], f=data["f"])
