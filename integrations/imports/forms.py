"""HTML input of the file import: the upload and the column mapping (built from the file)."""

import re

from django import forms

from .mapping import KINDS, TYPES, Mapping

ROLE_FIELDS = (
    ("user_id_column", "userId column", ("customer_id", "user_id", "userid", "customer", "id")),
    ("anonymous_id_column", "anonymousId column", ("anonymous_id", "anonymousid", "cookie_id")),
    ("email_column", "E-mail column", ("email", "e-mail", "mail", "email_address")),
    ("timestamp_column", "Timestamp column", ("timestamp", "date", "created_at", "ordered_at")),
    ("row_key_column", "Row key column (unique per row)", ("order_id", "invoice_id", "id")),
)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or JSON-lines file",
        help_text="UTF-8 (a BOM is fine). CSV needs a header line; the delimiter is detected.",
    )


class ProductUploadForm(forms.Form):
    """A product file into one source's catalogue (integrations/imports/products.py)."""

    source = forms.ModelChoiceField(
        queryset=None,
        label="Source",
        help_text="The products are this source's: a later file into it updates them by SKU.",
    )
    file = forms.FileField(
        label="CSV or JSON-lines file",
        help_text="Columns: sku, name, category, price, image, in stock (sku and name "
        "required). UTF-8; the delimiter is detected.",
    )

    def __init__(self, *args, sources, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = sources


def _trait_name(column: str) -> str:
    name = re.sub(r"[^0-9a-zA-Z]+", "_", column.strip()).strip("_").lower()
    return name or "field"


def guess_mapping(columns: list[str]) -> Mapping:
    """A first mapping for a source without a saved one: ids by name, the rest as text."""
    lowered = {c.lower().strip(): c for c in columns}
    guessed = Mapping()
    taken = set()
    for attr, _, names in ROLE_FIELDS:
        for name in names:
            if name in lowered and lowered[name] not in taken:
                setattr(guessed, attr, lowered[name])
                taken.add(lowered[name])
                break
    guessed.fields = [
        {"column": c, "name": _trait_name(c), "type": "text"}
        for c in columns
        if c not in {guessed.user_id_column, guessed.anonymous_id_column}
    ]
    return guessed


class MappingForm(forms.Form):
    """The role columns, then one row per file column: include?, name, type."""

    row_kind = forms.ChoiceField(
        label="Each row is",
        choices=[
            ("identify", "a customer → identify with traits"),
            ("track", "an order / event → track with properties"),
        ],
    )
    event_name = forms.CharField(
        label="Event name (order / event rows)", required=False, max_length=200
    )

    def __init__(self, *args, columns: list[str], initial_mapping: Mapping | None = None, **kw):
        self.columns = columns
        mapping = initial_mapping or guess_mapping(columns)
        initial = {"row_kind": mapping.row_kind, "event_name": mapping.event_name}
        super().__init__(*args, initial=initial, **kw)
        choices = [("", "—")] + [(c, c) for c in columns]
        for attr, label, _ in ROLE_FIELDS:
            current = getattr(mapping, attr)
            self.fields[attr] = forms.ChoiceField(
                label=label,
                choices=choices,
                required=False,
                initial=current if current in columns else "",
            )
        chosen = {f["column"]: f for f in mapping.fields if isinstance(f, dict)}
        self.column_rows = []
        for i, column in enumerate(columns):
            item = chosen.get(column)
            self.fields[f"use_{i}"] = forms.BooleanField(
                required=False, initial=item is not None, label=f"Include {column}"
            )
            self.fields[f"name_{i}"] = forms.CharField(
                required=False,
                max_length=200,
                initial=item["name"] if item else _trait_name(column),
                label=f"Name for {column}",
            )
            self.fields[f"type_{i}"] = forms.ChoiceField(
                required=False,
                choices=[(t, t) for t in TYPES],
                initial=item.get("type", "text") if item else "text",
                label=f"Type of {column}",
            )
            self.column_rows.append(
                (column, self[f"use_{i}"], self[f"name_{i}"], self[f"type_{i}"])
            )

    def role_fields(self):
        return [self[attr] for attr, _, _ in ROLE_FIELDS]

    def clean(self):
        data = super().clean()
        if data.get("row_kind") not in KINDS:
            return data
        fields = []
        for i, column in enumerate(self.columns):
            if not data.get(f"use_{i}"):
                continue
            name = (data.get(f"name_{i}") or "").strip()
            if not name:
                self.add_error(f"name_{i}", "Give the included column a name.")
            fields.append({"column": column, "name": name, "type": data.get(f"type_{i}") or "text"})
        mapping = Mapping(
            row_kind=data["row_kind"],
            event_name=(data.get("event_name") or "").strip(),
            fields=fields,
            **{attr: data.get(attr) or "" for attr, _, _ in ROLE_FIELDS},
        )
        for field, message in mapping.problems(self.columns).items():
            self.add_error(field if field in self.fields else None, message)
        data["mapping"] = mapping
        return data
