"""PII controls: trait keys and identifier kinds marked personal are shown masked to roles
not granted "see personal data" (Admin always is; Account manager by default), on the
pages, in the API and in segment member lists; exports holding personal data need the
grant and are audited; flags and the grant are changed by admins, audited."""

import pytest

from cdp_site.models import AuditEntry
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER, Cap, capabilities_of
from profiles import masking
from profiles.models import IdentifierKind, TraitKey
from profiles.rules import services as rules
from tests.profiles.conftest import message, profile_of, send, web  # noqa: F401

# --- masking one value -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ann@example.com", "a•••@example.com"),
        ("a@example.com", "a•••@example.com"),  # a one-letter local part
        ("  Bo.Smith@Mail.example.org ", "B•••@Mail.example.org"),
        ("not an address", "n••• a••• a•••"),  # no @: masked as text
        ("@example.com", "@•••"),
        ("", ""),
        (None, None),
    ],
)
def test_an_email_keeps_its_first_letter_and_domain(value, shown):
    assert masking.mask_email(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("+31612345612", "+31 6 •••• 12"),
        ("+14155552671", "+1 4 •••• 71"),
        ("+44 20 7946 0958", "+44 2 •••• 58"),
        ("0612345678", "0 •••• 78"),  # no country code
        ("12345", "••••"),  # too short to show any of it
        ("", ""),
    ],
)
def test_a_phone_keeps_its_country_code_first_and_last_digits(value, shown):
    assert masking.mask_phone(value) == shown


def test_other_values_keep_the_first_letter_of_each_word_or_nothing():
    assert masking.mask_text("Ann van Dijk") == "A••• v••• D•••"
    assert masking.mask_text("x") == "x•••"
    assert masking.mask_text(19850412) == "•••"
    assert masking.mask_text("   ") == "•••"
    assert masking.mask_value(["ann@example.com", "+31612345612"]) == [
        "a•••@example.com",
        "+31 6 •••• 12",
    ]
    assert masking.mask_value({"street": "Main St 1"}) == {"street": "M••• S••• 1•••"}


@pytest.mark.parametrize(
    "key", ["email", "firstName", "last_name", "phone", "mobile", "address", "birthday", "zip"]
)
def test_trait_keys_that_look_personal(key):
    assert masking.looks_personal(key)


@pytest.mark.parametrize(
    "key", ["plan", "country", "email_verified", "marketingOptIn", "company_name", "orders"]
)
def test_trait_keys_that_do_not_look_personal(key):
    assert not masking.looks_personal(key)


# --- flags and the grant -----------------------------------------------------------------


@pytest.mark.django_db
def test_email_and_phone_kinds_start_personal_and_new_personal_looking_traits_too(
    send,  # noqa: F811
    web,  # noqa: F811
):
    personal = set(IdentifierKind.objects.filter(personal=True).values_list("name", flat=True))
    assert personal == {"email", "phone"}
    traits = {"email": "ann@example.com", "firstName": "Ann", "plan": "gold", "birthday": "1990"}
    send(web, message("identify", userId="ann", traits=traits))
    flags = dict(TraitKey.objects.values_list("key", "personal"))
    assert flags == {"email": True, "firstName": True, "plan": False, "birthday": True}


@pytest.mark.django_db
def test_admins_always_and_account_managers_by_default_see_personal_data(make_user):
    holders = {
        role for role in (ADMIN, MARKETER, ACCOUNT_MANAGER, VIEWER)
        if Cap.SEE_PERSONAL_DATA in capabilities_of(make_user(role))
    }  # fmt: skip
    assert holders == {ADMIN, ACCOUNT_MANAGER}


@pytest.mark.django_db
def test_granting_a_role_is_audited_with_before_and_after(make_user):
    rules.set_personal_data_roles(roles=[MARKETER, ACCOUNT_MANAGER, ADMIN])
    assert Cap.SEE_PERSONAL_DATA in capabilities_of(make_user(MARKETER))
    entry = AuditEntry.objects.get(action="personal_data.grant")
    assert entry.details == {"roles": [[ACCOUNT_MANAGER], [ACCOUNT_MANAGER, MARKETER]]}
    rules.set_personal_data_roles(roles=[MARKETER, ACCOUNT_MANAGER])  # no change: no row
    assert AuditEntry.objects.filter(action="personal_data.grant").count() == 1
    with pytest.raises(rules.RulesError, match="Unknown roles: Owner"):
        rules.set_personal_data_roles(roles=["Owner"])
