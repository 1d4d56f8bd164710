"""Product file import: good rows become catalogue products keyed by SKU, bad rows are
reported by their line and the rest kept; the page and API are admins'."""

import io

import pytest
from django.urls import reverse

from cdp_site.permissions import ADMIN, MARKETER
from integrations import services as integration_services
from integrations.catalog.models import Product
from integrations.imports import services as imports
from integrations.imports.models import FileImport, ImportMapping

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = (
    b"SKU;Name;Category;Price;Image;In stock\n"
    b"TH-1;Ridge 2 Tent;Tents;349.00;https://img.example/1.jpg;yes\n"
    b"TH-2;Trail Boot;Boots;12,50;;no\n"
    b";No SKU;Tents;1;;yes\n"
    b"TH-4;Bad price;Tents;twelve;;yes\n"
    b"TH-5;Bad stock;Tents;5;;perhaps\n"
    b"TH-6;Bad image;Tents;5;javascript:alert(1);yes\n"
    b"TH-7;Too few columns\n"
    b"TH-8;Stove;Cooking;;;\n"
)


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def shop(db):
    return integration_services.create_source(name="Product files", kind="file")


def import_products(source, content: bytes, name="products.csv") -> FileImport:
    started = imports.import_products(source=source, chunks=[content], original_name=name)
    return imports.run_import(import_id=started.pk)


def test_good_rows_are_kept_and_bad_rows_reported_by_line(shop):
    done = import_products(shop, GOOD_AND_BAD)
    assert (done.status, done.rows_done, done.stored, done.error_count) == ("done", 8, 3, 5)
    assert [(e["line"], e["message"]) for e in done.errors] == [
        (4, "SKU: required."),
        (5, "Price: 'twelve' is not a number."),
        (6, "In stock: 'perhaps' is not yes/no."),
        (7, "Image: 'javascript:alert(1)' is not an http(s) link."),
        (8, "Expected 6 columns, found 2."),
    ]
    products = {p.sku: p for p in Product.objects.filter(source=shop)}
    assert set(products) == {"TH-1", "TH-2", "TH-8"}
    tent, boot, stove = products["TH-1"], products["TH-2"], products["TH-8"]
    assert (tent.name, tent.category, str(tent.price), tent.in_stock) == (
        "Ridge 2 Tent", "Tents", "349.00", True,
    )  # fmt: skip
    assert tent.image_url == "https://img.example/1.jpg" and tent.external_id == "TH-1"
    assert (str(boot.price), boot.in_stock) == ("12.50", False)
    assert (stove.price, stove.in_stock) == (None, True)  # no value: in stock


def test_a_later_file_updates_the_products_by_sku(shop):
    import_products(shop, b"sku,name,price,in_stock\nTH-1,Tent,10,yes\n")
    import_products(shop, b"sku,name,price,in_stock\nTH-1,Tent v2,12,no\n", name="again.csv")
    product = Product.objects.get(source=shop, sku="TH-1")
    assert (product.name, str(product.price), product.in_stock) == ("Tent v2", "12.00", False)


def test_a_file_without_a_sku_or_name_column_is_refused_and_nothing_kept(shop):
    with pytest.raises(imports.MappingInvalid) as caught:
        imports.import_products(source=shop, chunks=[b"code,title_x\n1,2\n"], original_name="p.csv")
    assert "needs the columns sku and name" in caught.value.problems["columns"]
    assert not FileImport.objects.exists()


def test_a_product_file_does_not_replace_the_sources_saved_event_mapping(shop):
    import_products(shop, b"sku,name\nTH-1,Tent\n")
    assert not ImportMapping.objects.filter(source=shop).exists()


def test_the_page_imports_a_file_for_an_admin_and_refuses_a_marketer(client_as, shop):
    admin = client_as(ADMIN)
    url = reverse("integrations:product-import")
    assert admin.get(url).status_code == 200
    upload = io.BytesIO(b"sku,name\nTH-1,Tent\n")
    upload.name = "products.csv"
    answer = admin.post(url, {"source": shop.pk, "file": upload})
    created = FileImport.objects.get()
    assert answer.status_code == 302 and answer.url == reverse(
        "integrations:import-detail", args=[created.pk]
    )
    assert created.mapping["row_kind"] == "product"
    bad = io.BytesIO(b"colour\nred\n")
    bad.name = "colours.csv"
    page = admin.post(url, {"source": shop.pk, "file": bad})
    assert page.status_code == 200 and "needs the columns sku and name" in page.content.decode()
    admin.logout()
    assert client_as(MARKETER).get(url).status_code == 403


def test_the_api_imports_for_an_admin_and_refuses_a_marketer(client_as, shop):
    url = "/api/v1/catalog/imports"
    upload = io.BytesIO(b"sku,name\nTH-1,Tent\nTH-2,\n")
    upload.name = "products.csv"
    admin = client_as(ADMIN)
    answer = admin.post(url, {"source": shop.pk, "file": upload})
    assert answer.status_code == 201, answer.content
    pk = answer.json()["id"]
    imports.run_import(import_id=pk)
    errors = admin.get(f"/api/v1/imports/{pk}/errors").json()
    assert errors == {"count": 1, "errors": [{"line": 3, "message": "name: required."}]}
    missing = admin.post(url, {"source": shop.pk})
    assert missing.status_code == 400 and "file" in missing.json()["error"]["fields"]
    admin.logout()
    again = io.BytesIO(b"sku,name\nTH-1,Tent\n")
    again.name = "p.csv"
    marketer = client_as(MARKETER)
    assert marketer.post(url, {"source": shop.pk, "file": again}).status_code == 403
