"""Forms point screen readers at help and error texts that exist on the page."""

import re

import pytest

pytestmark = pytest.mark.django_db


def _dangling_references(html: str) -> list[str]:
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    described = re.findall(r'aria-describedby="([^"]+)"', html)
    return [ref for refs in described for ref in refs.split() if ref not in ids]


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/settings/users/", {"email": "not-an-email", "role": "Nope"}),
        ("/integrations/sources/new/", {"name": "", "kind": "nope", "priority": "x"}),
        ("/integrations/connections/new/", {"kind": "rest", "name": "", "schedule": "x"}),
        ("/profiles/privacy/new/", {"kind": "nope", "identifier_value": "", "verification": ""}),
        ("/integrations/tracking-plans/", {"name": ""}),
    ],
)
def test_invalid_forms_describe_their_fields_with_existing_elements(client_as, url, data):
    client = client_as("Admin")
    html = client.post(url, data).content.decode()
    assert 'class="error"' in html
    assert "aria-describedby" in html
    assert _dangling_references(html) == []


def test_every_form_control_on_the_settings_page_has_a_label(client_as):
    html = client_as("Marketer").get("/settings/").content.decode()
    labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
    controls = re.findall(
        r'<(?:input|select|textarea)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html
    )
    assert controls and all(c in labelled for c in controls)
