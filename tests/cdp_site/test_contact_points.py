"""One normalisation of e-mail addresses and phone numbers for identity resolution and
for the destinations that hash them (cdp_site/contact_points.py)."""

from cdp_site.contact_points import normalize_email, normalize_phone
from integrations.destinations.adapters import _sha256, hashed_identifiers


def test_addresses_are_trimmed_and_lower_cased_and_non_addresses_refused():
    assert normalize_email("  Ann.Berg@Example.COM ") == "ann.berg@example.com"
    for raw in (None, "", "ann", "ann@", "@example.com", "ann@example", "a b@example.com"):
        assert normalize_email(raw) is None


def test_phones_become_e164_read_in_the_default_region():
    assert normalize_phone("06 12345678", "NL") == "+31612345678"
    assert normalize_phone("+1 (415) 555-2671", "NL") == "+14155552671"
    assert normalize_phone("12", "NL") is None


def test_audiences_hash_what_identity_resolution_would_link():
    email_hash, phone_hash = hashed_identifiers(
        {"email": " Ann@Example.com", "phone": "06 12345678"}, region="NL"
    )
    assert email_hash == _sha256("ann@example.com")
    assert phone_hash == _sha256("+31612345678")
    assert hashed_identifiers({"email": "not-an-address"}, region="NL") == ("", "")
