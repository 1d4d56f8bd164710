"""Reads of the file import."""

from . import files, products
from .mapping import Mapping
from .models import FileImport, ImportMapping


def imports():
    return FileImport.objects.select_related("source")


def imports_of(*, source, limit: int = 10) -> list[FileImport]:
    return list(FileImport.objects.filter(source=source).order_by("-id")[:limit])


def product_imports(*, limit: int = 20) -> list[FileImport]:
    """The latest imports of product files (integrations/imports/products.py)."""
    found = imports().filter(mapping__row_kind=products.ROW_KIND).order_by("-id")
    return list(found[:limit])


def saved_mapping(*, source) -> Mapping | None:
    saved = ImportMapping.objects.filter(source=source).first()
    if saved is None:
        return None
    return Mapping.from_dict({f: getattr(saved, f) for f in Mapping.__dataclass_fields__})


def preview(*, file_import: FileImport) -> list[dict]:
    """The first rows of the file (re-read from disk; a few KB)."""

    try:
        return files.inspect(
            name=file_import.stored_name,
            original_name=file_import.original_name,
            size=file_import.size_bytes,
        ).preview
    except (files.FileError, OSError):
        return []
