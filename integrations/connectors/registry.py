"""The connector kinds this installation offers: one line per module under ``kinds/``."""

from .base import ConnectorError, Kind
from .kinds import file_drop, hubspot, mailchimp, rest, shopify, sql

KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (rest.KIND, hubspot.KIND, shopify.KIND, mailchimp.KIND, sql.KIND, file_drop.KIND)
}


def kind_of(key: str) -> Kind:
    """The registered kind; ConnectorError when this installation has no such kind."""
    try:
        return KINDS[key]
    except KeyError:
        raise ConnectorError(f"No connector of kind {key!r} is installed.", code="config") from None


def all_kinds() -> list[Kind]:
    return sorted(KINDS.values(), key=lambda k: k.label)
