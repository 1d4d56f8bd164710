"""How long a text message is: its encoding and the number of segments it is sent in
(what the provider bills). static/js/sms-count.js counts the same way in the editor.

GSM-7 (3GPP TS 23.038) when every character is in the GSM default alphabet or its
extension table (``^{}\\[~]|€`` and form feed take two septets each): 160 septets in one
segment, 153 in each of several (the rest carries the joining header). Otherwise UCS-2:
70 UTF-16 code units in one segment, 67 in each of several. A character is never split
across two segments (an extension character's two septets, a surrogate pair)."""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class Length:
    encoding: str  # GSM-7 | UCS-2
    characters: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def _unit_sizes(text: str, encoding: str) -> list[int]:
    if encoding == "GSM-7":
        return [2 if ch in GSM_EXTENDED else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _segments(sizes: list[int], single: int, each: int) -> int:
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > each:
            count, used = count + 1, 0
        used += size
    return count


def measure(text: str) -> Length:
    gsm = all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text)
    encoding = "GSM-7" if gsm else "UCS-2"
    sizes = _unit_sizes(text, encoding)
    single, each = LIMITS[encoding]
    return Length(
        encoding=encoding,
        characters=len(text),
        units=sum(sizes),
        segments=_segments(sizes, single, each),
    )


def describe(text: str) -> str:
    """e.g. "42 characters · GSM-7 · 1 segment", as the editor shows it."""
    found = measure(text)
    plural = "" if found.segments == 1 else "s"
    return f"{found.characters} characters · {found.encoding} · {found.segments} segment{plural}"
