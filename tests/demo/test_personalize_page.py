"""The demo's personalisation example: the webshop source shows the stage, and the shop
page carries the webshop's key and the banner for each stage."""

import pytest

from campaigns.models import PersonalizationSetting
from demo.personalize_page import BANNERS, ensure_demo_personalization, webshop
from demo.segment_setup import ensure_demo_segments
from demo.sources import ensure_demo_sources

pytestmark = pytest.mark.django_db


def test_demo_webshop_shows_stage_and_on_site_segments():
    ensure_demo_segments()
    ensure_demo_sources()

    ensure_demo_personalization()
    ensure_demo_personalization()  # a rerun changes nothing

    setting = PersonalizationSetting.objects.get(source=webshop())
    assert setting.stage
    assert {s.name for s in setting.segments.all()} == {
        "Cart abandoners, last 7 days",
        "High-value customers",
    }
    assert all(s.on_site for s in setting.segments.all())


@pytest.mark.urls("tests.browser.personalize_site")
def test_shop_page_carries_the_webshop_key_and_every_stage_banner(client, settings):
    settings.CDP_MODE = "demo"
    ensure_demo_sources()

    body = client.get("/demo/shop/").content.decode()

    assert webshop().write_key in body
    assert "cdp.personalize()" in body
    for stage in ("orientation", "consideration", "acquisition", "retention"):
        assert stage in body and BANNERS[stage][0] in body


@pytest.mark.urls("tests.browser.personalize_site")
def test_shop_page_without_the_demo_data_is_404(client, settings):
    settings.CDP_MODE = "demo"
    assert client.get("/demo/shop/").status_code == 404


@pytest.mark.urls("tests.browser.personalize_site")
def test_shop_page_outside_demo_mode_is_404(client):
    ensure_demo_sources()
    assert client.get("/demo/shop/").status_code == 404
