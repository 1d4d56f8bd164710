"""A public write key cannot take over a known customer: a client source's unsigned calls
never link to one, its contact fields never win over a server source's, its grants never
reach a known customer unverified, and only calls signed by the site's backend link."""

import pytest

from cdp_site.permissions import ADMIN
from integrations import processing, services
from integrations.collect.verification import sign, signature
from integrations.models import Source
from profiles.consent import may_use
from profiles.models import Identity, Profile
from profiles.services import set_source_user_id_kind
from tests.profiles.conftest import profile_of

from .conftest import basic

pytestmark = pytest.mark.django_db

ANN = "ann@example.org"
STRANGER = "stranger@evil.test"


@pytest.fixture
def crm(db):
    source = services.create_source(name="CRM", kind=Source.Kind.CRM, priority=90)
    set_source_user_id_kind(source=source, kind_name="crm_id")
    return source


@pytest.fixture
def website(db):
    return services.create_source(name="Webshop", kind=Source.Kind.WEBSITE, priority=90)


@pytest.fixture
def ann(crm, post):
    """A known customer: the CRM's record of Ann, who gave marketing consent."""
    body = {
        "type": "identify",
        "userId": "CRM-1",
        "messageId": "crm-ann",
        "traits": {"email": ANN, "firstName": "Ann", "marketingOptIn": True},
    }
    assert post("/v1/identify", body, key=crm.write_key).status_code == 200
    drain()
    return profile_of("crm_id", "CRM-1")


def drain():
    while processing.process_inbox_batch():
        pass


def attack(post, website, **extra):
    """The stranger's two calls with the website's public key, as the issue reported."""
    link = {"anonymousId": "stranger-device", "traits": {"email": ANN}, "messageId": "a1"}
    takeover = {
        "anonymousId": "stranger-device",
        "traits": {"email": STRANGER, "marketingOptIn": False},
        "context": {"consent": {"categoryPreferences": {"marketing": False}}},
        "messageId": "a2",
        "timestamp": "2099-01-01T00:00:00Z",  # as recent as can be
        **extra,
    }
    for body in (link, takeover):
        assert post("/v1/identify", body, key=website.write_key).status_code == 200
    drain()


def test_two_unsigned_calls_with_a_public_key_redirect_nothing(post, website, ann):
    consent_before = dict(ann.consent)
    attack(post, website)
    ann.refresh_from_db()
    assert ann.traits["email"] == ANN
    assert ann.consent == consent_before
    assert not Identity.objects.filter(profile=ann, value="stranger-device").exists()
    stranger = profile_of("anonymous_id", "stranger-device")
    assert stranger.pk != ann.pk
    # The stranger keeps their own profile, with what they typed, unconfirmed.
    assert stranger.traits["email"] == STRANGER and not stranger.email_confirmed


def test_with_verification_off_the_link_is_made_but_mail_and_consent_stay_ann_s(post, website, ann):
    services.update_source(source=website, require_verification=False)
    attack(post, website)
    ann.refresh_from_db()
    device = Identity.objects.get(value="stranger-device")
    assert device.profile_id == ann.pk  # what turning verification off allows
    assert ann.traits["email"] == ANN  # a server source's contact field wins anyway
    assert ann.email_confirmed


def test_grants_from_unverified_links_never_reach_a_known_customer_but_withdrawals_do(
    post, website, ann
):
    services.update_source(source=website, require_verification=False)

    def opt_in(given: bool, message_id: str) -> dict:
        return {
            "anonymousId": "d1",
            "traits": {"email": ANN, "marketingOptIn": given},
            "messageId": message_id,
        }

    post("/v1/identify", opt_in(False, "w1"), key=website.write_key)
    drain()
    ann.refresh_from_db()
    assert not may_use(ann, "email_marketing")  # the withdrawal reached Ann
    post("/v1/identify", opt_in(True, "g1"), key=website.write_key)
    drain()
    ann.refresh_from_db()
    assert not may_use(ann, "email_marketing")  # the grant did not


def test_a_call_signed_by_the_site_s_backend_links_the_device_to_ann(post, website, ann):
    secret = services.verification_secret(source=website)
    login = sign(
        {
            "type": "identify",
            "anonymousId": "ann-phone",
            "userId": "web-ann",
            "traits": {"email": ANN},
            "messageId": "login",
        },
        secret,
    )
    assert post("/v1/identify", login, key=website.write_key).status_code == 200
    drain()
    assert profile_of("anonymous_id", "ann-phone").pk == ann.pk
    assert profile_of("user_id", "web-ann").pk == ann.pk


def test_the_signature_is_the_documented_hmac_and_covers_only_what_it_names(post, website, ann):
    secret = services.verification_secret(source=website)
    # Signed for another user: the user id is not believed, and the e-mail was not signed.
    claim = {"userId": "web-bob", "signature": signature(secret, user_id="web-bob")}
    body = {
        "anonymousId": "dev-2",
        "userId": "web-ann",
        "traits": {"email": ANN},
        "context": {"identityVerification": claim},
        "messageId": "forged",
    }
    assert post("/v1/identify", body, key=website.write_key).status_code == 200
    drain()
    assert not Identity.objects.filter(value__in=["web-ann", "web-bob"]).exists()
    assert profile_of("anonymous_id", "dev-2").pk != ann.pk


def test_a_client_alias_cannot_merge_another_user_id_into_the_caller(post, website, ann):
    secret = services.verification_secret(source=website)
    mine = sign(
        {"type": "identify", "anonymousId": "att", "userId": "web-att", "messageId": "me"}, secret
    )
    alias = sign(
        {"type": "alias", "previousId": "CRM-1", "userId": "web-att", "messageId": "al"}, secret
    )
    post("/v1/identify", mine, key=website.write_key)
    post("/v1/alias", alias, key=website.write_key)
    drain()
    assert profile_of("user_id", "web-att").pk != ann.pk
    assert Profile.objects.get(pk=ann.pk).merged_into_id is None


def test_a_client_source_s_traits_other_than_contact_fields_follow_recency(post, website, ann):
    secret = services.verification_secret(source=website)
    login = sign(
        {
            "type": "identify",
            "userId": "web-ann",
            "traits": {"email": ANN, "firstName": "Annie"},
            "messageId": "l",
        },
        secret,
    )
    post("/v1/identify", login, key=website.write_key)
    drain()
    ann.refresh_from_db()
    assert ann.traits["firstName"] == "Annie"  # same priority, more recent: the site's


def test_a_client_source_is_limited_per_visitor_address(post, website):
    services.update_source(source=website, ip_rate_limit=3)
    batch = {"batch": [{"type": "page", "anonymousId": f"v{i}"} for i in range(4)]}
    over = post("/v1/batch", batch, key=website.write_key, headers={"REMOTE_ADDR": "198.51.100.7"})
    assert over.status_code == 429 and over["Retry-After"]
    small = {"batch": batch["batch"][:2]}
    other = post("/v1/batch", small, key=website.write_key, headers={"REMOTE_ADDR": "198.51.100.8"})
    assert other.status_code == 200


def test_sources_default_their_trust_by_kind(db):
    website = services.create_source(name="Site", kind=Source.Kind.WEBSITE)
    app = services.create_source(name="App", kind=Source.Kind.MOBILE_APP)
    erp = services.create_source(name="ERP", kind=Source.Kind.ERP)
    assert (website.trust, app.trust, erp.trust) == ("client", "client", "server")
    assert website.require_verification and (website.ip_rate_limit, erp.ip_rate_limit) == (50, 0)


def test_trust_and_verification_are_set_in_the_api_and_the_secret_is_admin_only(client_as, website):
    api = client_as(ADMIN)
    response = api.patch(
        f"/api/v1/sources/{website.pk}",
        {"require_verification": False, "ip_rate_limit": 20},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["trust"], body["require_verification"], body["ip_rate_limit"]) == (
        "client",
        False,
        20,
    )
    assert "verification_secret" not in body
    secret = api.get(f"/api/v1/sources/{website.pk}/verification-secret").json()
    rotated = api.post(f"/api/v1/sources/{website.pk}/verification-secret").json()
    assert secret["verification_secret"] != rotated["verification_secret"]
    website.refresh_from_db()
    assert services.verification_secret(source=website) == rotated["verification_secret"]


def test_the_source_page_warns_when_verification_is_off(client_as, website):
    admin = client_as(ADMIN)
    page = admin.get(f"/integrations/sources/{website.pk}/").content.decode()
    assert "Identity verification is <strong>required</strong>" in page
    assert services.verification_secret(source=website) in page
    services.update_source(source=website, require_verification=False)
    page = admin.get(f"/integrations/sources/{website.pk}/").content.decode()
    assert "Identity verification is off." in page


def test_write_keys_in_basic_auth_still_work_for_client_sources(client, website):
    body = b'{"anonymousId": "x", "event": "Viewed"}'
    response = client.generic(
        "POST",
        "/v1/track",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(website.write_key),
    )
    assert response.status_code == 200
