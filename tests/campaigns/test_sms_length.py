"""How many segments a text message is sent in (what the provider bills), as the message
editor shows it: GSM-7 while every character is in the GSM alphabet, else UCS-2."""

import pytest

from campaigns.sms_text import describe, measure


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # the extension table takes two septets each
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),  # "€" is not split across segments
        ("Straße, café, Ñoño @ 5 £", "GSM-7", 24, 1),
        ("é" * 70 + "ł", "UCS-2", 71, 2),  # one character outside GSM: all UCS-2
        ("ł" * 70, "UCS-2", 70, 1),
        ("ł" * 134, "UCS-2", 134, 2),
        ("ł" * 135, "UCS-2", 135, 3),
        ("Hi 👋", "UCS-2", 5, 1),  # an emoji is a surrogate pair: two UTF-16 units
    ],
)
def test_segments_follow_the_encoding_the_text_needs(text, encoding, units, segments):
    found = measure(text)
    assert (found.encoding, found.units, found.segments) == (encoding, units, segments)


def test_the_editor_line_says_characters_encoding_and_segments():
    assert describe("Hi Ann") == "6 characters · GSM-7 · 1 segment"
    assert describe("ł" * 71) == "71 characters · UCS-2 · 2 segments"
