"""A file row → a product of the catalogue (integrations/catalog), by the file's header.

A product file is a CSV (or JSON lines) with the columns sku, name, category, price, image
and in stock; the header's spelling is forgiving ("SKU", "Image URL", "in_stock",
"In stock"). Its import runs like an import of events (the same upload, chunks, resume
point and per-line error report: services.run_import), with a mapping whose ``row_kind``
is "product" and whose ``fields`` say which column holds which product field.

Pure functions: nothing here touches the database.
"""

from __future__ import annotations

import re

from .mapping import Mapping, RowError, convert

ROW_KIND = "product"
# Product field → the header spellings taken for it (compared lower-cased, without spaces,
# dashes or underscores).
COLUMNS = {
    "sku": ("sku", "productsku", "id", "productid", "itemid"),
    "name": ("name", "productname", "title"),
    "category": ("category", "productcategory", "type", "producttype"),
    "price": ("price", "unitprice"),
    "image_url": ("image", "imageurl", "picture", "photo"),
    "in_stock": ("instock", "stock", "available", "availability"),
}
REQUIRED = ("sku", "name")


def _squashed(column: str) -> str:
    return re.sub(r"[\s_\-]+", "", column.strip().lower())


def product_mapping(columns: list[str]) -> Mapping:
    """The mapping of a product file with these header ``columns`` (the first column
    taken for each product field)."""
    by_spelling = {}
    for column in columns:
        by_spelling.setdefault(_squashed(column), column)
    fields = []
    for name, spellings in COLUMNS.items():
        column = next((by_spelling[s] for s in spellings if s in by_spelling), None)
        if column is not None:
            fields.append({"column": column, "name": name, "type": "text"})
    return Mapping(row_kind=ROW_KIND, fields=fields)


def problems(mapping: Mapping, columns: list[str] | None = None) -> dict[str, str]:
    """What makes a product mapping unusable for a file with these ``columns`` (empty when
    it is fine)."""
    if any(not isinstance(f, dict) or not f.get("column") for f in mapping.fields):
        return {"fields": "Each field needs a column and a name."}
    named = {f.get("name") for f in mapping.fields}
    absent = sorted({f["column"] for f in mapping.fields} - set(columns or ()))
    if columns is not None and absent:
        return {"columns": f"Not in the file: {', '.join(absent)}."}
    unknown = sorted(n for n in named if n not in COLUMNS)
    if unknown:
        return {"fields": f"Unknown product fields: {', '.join(map(str, unknown))}."}
    missing = [n for n in REQUIRED if n not in named]
    if missing:
        return {
            "columns": f"A product file needs the columns {' and '.join(missing)} "
            f"(found none named so); optional: category, price, image, in stock."
        }
    return {}


def to_product(values: dict, *, mapping: Mapping, updated_at: str) -> dict:
    """One row → a catalogue row (integrations.catalog.services.upsert_products), keyed by
    its SKU; RowError naming the column when a value is unusable."""
    row: dict = {"updated_at": updated_at}
    for item in mapping.fields:
        column, name = item["column"], item["name"]
        value = values.get(column)
        if name == "in_stock":
            converted = convert(value, "boolean", column)
            row[name] = True if converted is None else converted
        elif name == "price":
            converted = convert(value, "number", column)
            if converted is not None and converted < 0:
                raise RowError(f"{column}: {value!r} is below zero.")
            row[name] = converted
        else:
            text = "" if value is None else str(value).strip()
            if name == "image_url" and text and not text.startswith(("https://", "http://")):
                raise RowError(f"{column}: {text[:60]!r} is not an http(s) link.")
            row[name] = text
    for name in REQUIRED:
        if not row.get(name):
            column = next(f["column"] for f in mapping.fields if f["name"] == name)
            raise RowError(f"{column}: required.")
    row["external_id"] = row["sku"]
    return row
