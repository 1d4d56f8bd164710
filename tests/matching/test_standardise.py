"""The matcher compares values in one form: the CRM's and the shop's ways of writing the
same name, date, address, phone and e-mail come out equal, and what cannot be read comes
out as None rather than a guess."""

from datetime import date

import pytest

from profiles.matching import standardise as std
from profiles.matching.fields import (
    DEFAULT_MAPPING,
    MappingError,
    Options,
    matchable,
    standard_row,
    validate_mapping,
)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("John", "john"),
        ("  JON ", "john"),
        ("Johnny", "john"),
        ("Zoë", "zoe"),
        ("Müller", "muller"),
        ("O'Brien", "obrien"),
        ("Jean-Luc", "jean luc"),
        ("Łukasz", "lukasz"),
        ("Straße", "strasse"),
        ("Liz", "elizabeth"),
    ],
)
def test_names_written_differently_come_out_the_same(written, expected):
    assert std.name(written) == expected


def test_a_nickname_of_two_names_is_left_as_written():
    assert std.name("Alex") == "alex"
    assert std.name("Chris") == "chris"


def test_names_in_other_scripts_are_kept_not_emptied():
    assert std.name("Ольга") == "ольга"
    assert std.name("山田") == "山田"
    assert std.name("Ольга") != std.name("Ирина")


@pytest.mark.parametrize("written", ["", None, "   ", "123", "--", "."])
def test_nothing_to_compare_in_a_name_gives_none(written):
    assert std.name(written) is None


def test_an_initial_is_the_first_letter_of_the_standard_name():
    assert std.initial("J.") == "j"
    assert std.initial("Johnny") == "j"
    assert std.initial("") is None


TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    "written",
    [
        "1984-03-02",
        "1984-03-02T00:00:00Z",
        "1984/3/2",
        "19840302",
        "02/03/1984",
        "2.3.1984",
        "2 March 1984",
        "March 2, 1984",
        "Mar 2nd 1984",
        "2 maart 1984",
        date(1984, 3, 2),
    ],
)
def test_dates_of_birth_in_common_formats_are_read_alike(written):
    assert std.birth_date(written, today=TODAY) == "1984-03-02"


def test_a_us_model_reads_the_month_first():
    assert std.birth_date("03/02/1984", day_first=False, today=TODAY) == "1984-03-02"
    assert std.birth_date("03/02/1984", day_first=True, today=TODAY) == "1984-02-03"


@pytest.mark.parametrize(
    "written",
    [
        "31/02/1984",
        "1984-13-01",
        "1900-01-01",
        "1970-01-01",
        "2030-01-01",
        "1850-05-05",
        "yesterday",
        "",
        None,
        "12/12",
        "March 1984",
    ],
)
def test_impossible_placeholder_or_unreadable_dates_give_none(written):
    assert std.birth_date(written, today=TODAY) is None


def test_street_lines_written_differently_come_out_the_same():
    assert std.street("12 Oak Street") == std.street("Oak St. 12") == "oak st"
    assert std.street("Hauptstraße 5") == std.street("Hauptstrasse 5") == "hauptstr"
    assert std.street("221B Baker St") == "baker st"
    assert std.street("12") is None


def test_house_numbers_keep_their_letter():
    assert std.house_number("221B Baker Street") == "221b"
    assert std.house_number("Oak Street 12") == "12"
    assert std.house_number("Oak Street") is None


def test_postcodes_cities_and_countries_come_out_in_one_form():
    assert std.postcode("1012 ab") == std.postcode("1012-AB") == "1012AB"
    assert std.city("  Den-Haag ") == "den haag"
    assert std.city("Zürich") == "zurich"
    assert std.country("The Netherlands") == std.country("nl") == std.country("NLD") == "NL"
    assert std.country("U.S.A.") == "US"
    assert std.country("Atlantis") is None


def test_phones_become_e164_in_the_models_region():
    assert std.phone("06 12345678", region="NL") == "+31612345678"
    assert std.phone("+31 6 1234 5678") == "+31612345678"
    assert std.phone("(415) 555-0132", region="US") == "+14155550132"
    assert std.phone("12") is None
    assert std.phone(None) is None


def test_an_email_splits_into_local_part_without_tag_and_domain():
    assert std.email_parts(" Ann.Lee+shop@Example.COM ") == ("ann.lee", "example.com")
    assert std.email_parts("not an address") == (None, None)


def test_a_profiles_row_reads_the_segment_spec_traits_and_nested_address():
    traits = {
        "firstName": "Jon",
        "lastName": "Smith",
        "birthday": "02/03/1984",
        "address": {
            "street": "12 Oak Street",
            "postalCode": "90210 ",
            "city": "Springfield",
            "country": "USA",
        },
        "phone": "(415) 555-0132",
        "email": "jon.smith@example.com",
    }
    row = standard_row(traits)
    assert row == {
        "first_name": "john",
        "surname": "smith",
        "birth_date": "1984-03-02",
        "street": "oak st",
        "house_number": "12",
        "postcode": "90210",
        "city": "springfield",
        "country": "US",
        "phone": "+14155550132",
        "email_local": "jon.smith",
        "email_domain": "example.com",
    }


def test_a_company_maps_its_own_trait_names_once():
    mapping = validate_mapping(
        {
            "first_name": ["given_name"],
            "surname": "surname",
            "city": ["suburb"],
            "birth_date": ["date_of_birth"],
        }
    )
    traits = {
        "given_name": "Jon",
        "surname": "Smith",
        "suburb": "Bondi",
        "date_of_birth": "19840302",
    }
    row = standard_row(traits, mapping=mapping, options=Options(region="AU"))
    assert (row["first_name"], row["surname"], row["city"], row["birth_date"]) == (
        "john",
        "smith",
        "bondi",
        "1984-03-02",
    )
    assert row["phone"] is None


def test_the_next_mapped_trait_is_read_when_the_first_does_not_parse():
    row = standard_row({"birthday": "unknown", "dob": "1984-03-02"})
    assert row["birth_date"] == "1984-03-02"


def test_a_full_name_fills_the_given_name_and_surname_when_they_are_missing():
    row = standard_row({"name": "Ann van der Berg", "email": "a@b.nl"})
    assert (row["first_name"], row["surname"]) == ("anna", "berg")
    assert standard_row({"name": "Madonna"})["first_name"] is None


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"shoe_size": ["size"]}, "shoe_size"),
        ({"city": 5}, "city"),
        ({"city": ["address..city"]}, "city"),
        ({"city": ["x" * 300]}, "city"),
    ],
)
def test_a_mapping_with_an_unknown_field_or_bad_path_is_refused_at_the_field(mapping, field):
    with pytest.raises(MappingError) as refused:
        validate_mapping(mapping)
    assert refused.value.field == field


def test_the_default_mapping_is_valid():
    assert validate_mapping(DEFAULT_MAPPING) == DEFAULT_MAPPING


def test_a_profile_with_no_matchable_fields_is_not_matchable():
    assert not matchable(standard_row({}))
    assert not matchable(standard_row({"firstName": "Ann"}))
    assert matchable(standard_row({"firstName": "Ann", "email": "ann@example.com"}))
