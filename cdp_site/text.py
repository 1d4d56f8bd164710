"""Text PostgreSQL cannot store: a NUL character (text and jsonb refuse it) or a lone
surrogate (it cannot be encoded as UTF-8). Input holding one is refused where it enters,
with the field named, rather than failing as a 500 inside a query."""

UNSTORABLE_MESSAGE = "This holds a character that cannot be stored (NUL or a lone surrogate)."


def unstorable(value) -> bool:
    """Whether ``value`` (a text, or JSON data with texts as keys and values, at any depth)
    holds a character PostgreSQL cannot store."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item or any("\ud800" <= ch <= "\udfff" for ch in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False
