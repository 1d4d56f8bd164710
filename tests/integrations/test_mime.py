"""The e-mail bytes written by integrations/destinations/mime.py read back, with the
standard library's parser, as the message Django's builder would have written."""

import email
from email import policy

import pytest

from integrations.destinations.mime import HeaderInjection, _django_bytes, message_bytes

HEADERS = {
    "Message-ID": "<7.mail@cdp>",
    "List-Unsubscribe": "<https://cdp.example/u/1>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def content(part) -> str:
    # The parser keeps the wire's CRLF inside a part's content.
    return part.get_content().replace("\r\n", "\n").strip()


def parsed(**overrides):
    fields = {
        "from_email": "Shop <shop@example.org>",
        "to": "ann@example.org",
        "subject": "Hello",
        "text": "Hi Ann\nBye",
        "html": "<p>Hi Ann</p>",
        "headers": HEADERS,
    } | overrides
    return email.message_from_bytes(message_bytes(**fields), policy=policy.default)


def test_a_message_reads_back_with_the_same_headers_and_parts_as_djangos():
    fields = {
        "from_email": "Shop <shop@example.org>",
        "to": "ann@example.org",
        "subject": "Your cart",
        "text": "Hi Ann\n\nBoots",
        "html": "<p>Hi Ann</p>",
        "headers": HEADERS,
    }
    ours = email.message_from_bytes(message_bytes(**fields), policy=policy.default)
    django = email.message_from_bytes(_django_bytes(**fields), policy=policy.default)
    for name in (
        "From",
        "To",
        "Subject",
        "Message-ID",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "MIME-Version",
    ):
        assert ours[name] == django[name], name
    assert ours.get_content_type() == django.get_content_type() == "multipart/alternative"
    assert ours["Date"] is not None
    for kind in ("plain", "html"):
        assert ours.get_body((kind,)).get_content() == django.get_body((kind,)).get_content()
    assert content(ours.get_body(("plain",))) == "Hi Ann\n\nBoots"


def test_non_ascii_subject_and_bodies_round_trip():
    message = parsed(
        subject="Sam, dein Warenkorb: 2 × Stiefel für 99 € 🎉",
        text="Größe 42 – 99 €",
        html="<p>Größe 42 – 99 €</p>",
    )
    assert message["Subject"] == "Sam, dein Warenkorb: 2 × Stiefel für 99 € 🎉"
    assert message.get_body(("plain",)).get_content().strip() == "Größe 42 – 99 €"
    assert message.get_body(("html",)).get_content().strip() == "<p>Größe 42 – 99 €</p>"
    assert message.get_body(("html",))["Content-Transfer-Encoding"] == "8bit"


def test_a_line_longer_than_smtp_allows_is_sent_quoted_printable_and_reads_back():
    long_line = "<p>" + "é and a word " * 200 + "</p>"
    message = parsed(html=long_line)
    html = message.get_body(("html",))
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert content(html) == long_line
    raw = message_bytes(
        from_email="shop@example.org",
        to="a@example.org",
        subject="s",
        text="t",
        html=long_line,
        headers=HEADERS,
    )
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize("field", ["subject", "to", "from_email"])
def test_a_line_break_in_a_header_value_is_refused(field):
    value = {
        "subject": "Hi\r\nBcc: everyone@example.org",
        "to": "a@example.org\nBcc: x@y.z",
        "from_email": "shop@example.org\r\nX-Evil: 1",
    }[field]
    with pytest.raises(HeaderInjection):
        parsed(**{field: value})


def test_a_non_ascii_display_name_goes_through_djangos_builder():
    message = parsed(from_email="Café Shop <shop@example.org>")
    assert message["From"].addresses[0].display_name == "Café Shop"
    assert message["From"].addresses[0].addr_spec == "shop@example.org"
    assert content(message.get_body(("plain",))) == "Hi Ann\nBye"


def test_a_text_only_message_is_one_plain_part():
    message = parsed(html="")
    assert message.get_content_type() == "text/plain"
    assert not message.is_multipart()
    assert content(message) == "Hi Ann\nBye"
    assert message["Message-ID"] == "<7.mail@cdp>"
