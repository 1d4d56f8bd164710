"""Uploaded-list segments (CSV → members, with history and a report by line) and the
streamed CSV export."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cdp_site.permissions import MARKETER
from profiles.models import Identity, Profile
from profiles.services import merge_profiles
from segments import export, membership, services, static_lists
from segments.models import Membership, MembershipChange, Segment

from .conftest import message, rule

pytestmark = pytest.mark.django_db


def pid(value, kind="user_id"):
    return Identity.objects.get(kind__name=kind, value=value).profile_id


@pytest.fixture
def people(web, send):
    """ann, bo, cy with e-mails; bo also has a phone."""
    for user, email in [
        ("ann", "ann@example.org"),
        ("bo", "bo@example.org"),
        ("cy", "cy@example.org"),
    ]:
        traits = {"email": email, "firstName": user.title()}
        if user == "bo":
            traits["phone"] = "+31 6 12345678"
        send(web, message("identify", userId=user, traits=traits))


def upload(text: str | bytes, name="list.csv"):
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def members(segment):
    return set(Membership.objects.filter(segment=segment).values_list("profile_id", flat=True))


def test_a_list_by_email_sets_members_and_reports_lines_not_found(people):
    segment = static_lists.create_static_segment(name="VIPs")
    csv_text = (
        "email,name\nANN@example.org ,Ann\nnobody@example.org,X\nnot-an-email,Y\n\n"
        "bo@example.org,Bo\n"
    )
    result = static_lists.import_csv(segment=segment, file=upload(csv_text))
    assert members(segment) == {pid("ann"), pid("bo")}
    assert (result.rows, result.matched, result.not_found, result.malformed) == (4, 2, 1, 1)
    assert [(p["line"], p["value"]) for p in result.problems] == [
        (3, "nobody@example.org"),
        (4, "not-an-email"),
    ]
    assert "not an e-mail address" in result.problems[1]["error"]
    assert "No profile" in result.problems[0]["error"]
    segment.refresh_from_db()
    assert segment.member_count == 2 and segment.computed_at is not None
    changes = set(
        MembershipChange.objects.filter(segment=segment).values_list(
            "profile_id", "change", "reason"
        )
    )
    assert changes == {
        (pid("ann"), "entered", "uploaded list"),
        (pid("bo"), "entered", "uploaded list"),
    }


def test_a_new_list_replaces_the_old_one_and_records_exits(people):
    segment = static_lists.create_static_segment(name="VIPs")
    static_lists.import_csv(segment=segment, file=upload("user_id\nann\nbo\n"))
    result = static_lists.import_csv(segment=segment, file=upload("user_id\nbo\ncy\n"))
    assert members(segment) == {pid("bo"), pid("cy")}
    assert (result.entered, result.exited, result.members) == (1, 1, 2)
    exited = MembershipChange.objects.get(segment=segment, change="exited")
    assert exited.profile_id == pid("ann") and exited.reason == "uploaded list"
    added = static_lists.import_csv(segment=segment, file=upload("user_id\nann\n"), mode="add")
    assert members(segment) == {pid("ann"), pid("bo"), pid("cy")} and added.exited == 0


def test_kind_value_columns_semicolons_a_bom_and_phone_numbers(people):
    segment = static_lists.create_static_segment(name="Mixed")
    text = "\ufeffKind;Value\nemail;cy@example.org\nphone;+31 6 1234 5678\nshoe_size;42\n"
    result = static_lists.import_csv(segment=segment, file=upload(text))
    assert members(segment) == {pid("cy"), pid("bo")}
    assert result.problems == [
        {"line": 4, "value": "shoe_size", "error": "Unknown identifier kind “shoe_size”."}
    ]


def test_a_single_column_without_header_given_the_kind(people):
    segment = static_lists.create_static_segment(name="Plain")
    plain = upload("ann@example.org\r\ncy@example.org\r\n")
    result = static_lists.import_csv(segment=segment, file=plain, kind="email")
    assert members(segment) == {pid("ann"), pid("cy")} and result.rows == 2


def test_several_identifier_columns_match_by_the_strongest_found(people):
    segment = static_lists.create_static_segment(name="Both")
    text = "E-mail,user_id,name\nann@example.org,nobody,A\nunknown@example.org,cy,C\n,,Dee\n"
    result = static_lists.import_csv(segment=segment, file=upload(text))
    assert members(segment) == {pid("ann"), pid("cy")}
    assert result.malformed == 1 and result.problems[0]["error"] == "No identifier."


def test_a_merged_profiles_identifier_finds_the_survivor(people):
    survivor, merged = pid("ann"), pid("bo")
    merge_profiles(survivor_id=survivor, merged_id=merged, actor=None)
    # Point one identity back at the merged profile, as a ledger row might leave it.
    Identity.objects.filter(kind__name="user_id", value="bo").update(profile_id=merged)
    segment = static_lists.create_static_segment(name="Merged")
    static_lists.import_csv(segment=segment, file=upload("user_id\nbo\n"))
    assert members(segment) == {survivor}


def test_an_unreadable_csv_row_is_reported_by_line_and_the_next_rows_still_count(people):
    segment = static_lists.create_static_segment(name="Broken")
    data = b'user_id,x\nann,"q"z\nbo,1\n"unterminated\ncy,2\n'
    result = static_lists.import_csv(segment=segment, file=upload(data))
    assert members(segment) == {pid("bo")}
    assert [(p["line"], p["error"]) for p in result.problems] == [
        (2, "Unreadable CSV row: ',' expected after '\"'."),
        (4, "Unreadable CSV row: unexpected end of data."),
    ]


def test_a_latin1_line_is_reported_with_its_number(people):
    segment = static_lists.create_static_segment(name="Latin")
    data = "user_id\nann\ncafé\nbo\n".encode("latin-1")
    result = static_lists.import_csv(segment=segment, file=upload(data))
    assert members(segment) == {pid("ann"), pid("bo")}
    assert result.problems == [{"line": 3, "value": "", "error": "Line 3 is not valid UTF-8."}]


@pytest.mark.parametrize(
    "data, kind, field, words",
    [
        (b"", None, "file", "empty"),
        (b"name,city\nAnn,Lyon\n", None, "file", "No identifier column"),
        (b"\xff\xfe,email\n", None, "file", "UTF-8"),
        (b"x\n", "shoe_size", "kind", "Unknown identifier kind"),
    ],
)
def test_an_unusable_file_changes_nothing(people, data, kind, field, words):
    segment = static_lists.create_static_segment(name="Keep")
    static_lists.import_csv(segment=segment, file=upload("user_id\nann\n"))
    with pytest.raises(static_lists.ListFileError) as caught:
        static_lists.import_csv(segment=segment, file=upload(data), kind=kind)
    assert caught.value.errors[0]["field"] == field and words in caught.value.errors[0]["message"]
    assert members(segment) == {pid("ann")}


def test_a_rule_based_segment_takes_no_file(people):
    segment = services.create_segment(
        name="Dynamic", rule=rule({"type": "stage", "in": ["retention"]})
    )
    with pytest.raises(services.SegmentError):
        static_lists.import_csv(segment=segment, file=upload("user_id\nann\n"))


def test_the_file_is_read_line_by_line_not_all_at_once(people):
    class LinesOnly(io.BytesIO):
        def read(self, *args):
            raise AssertionError("read the whole file")

    segment = static_lists.create_static_segment(name="Streamed")
    rows = "".join(f"missing-{i}\n" for i in range(5000))
    result = static_lists.import_csv(
        segment=segment, file=LinesOnly(f"user_id\nann\n{rows}".encode())
    )
    assert members(segment) == {pid("ann")}
    assert result.not_found == 5000 and len(result.problems) == static_lists.MAX_PROBLEMS


def test_a_static_segment_feeds_rules_that_refer_to_it(people):
    vips = static_lists.create_static_segment(name="VIPs")
    static_lists.import_csv(segment=vips, file=upload("user_id\nann\nbo\n"))
    not_bo = services.create_segment(
        name="VIPs not Bo",
        rule=rule(
            {"type": "segment", "segment_id": vips.pk},
            {"type": "identifier", "kind": "phone"},
            match="all",
        ),
    )
    membership.recompute(not_bo)
    assert members(not_bo) == {pid("bo")}
    membership.recompute(vips)  # a static segment's recompute keeps its list
    assert members(vips) == {pid("ann"), pid("bo")}
    # A new list moves the segments that refer to it at once, and those referring to them.
    outer = services.create_segment(
        name="Outer", rule=rule({"type": "segment", "segment_id": not_bo.pk, "member": False})
    )
    membership.recompute(outer)
    assert pid("bo") not in members(outer)
    static_lists.import_csv(segment=vips, file=upload("user_id\nann\n"))
    assert members(not_bo) == set() and pid("bo") in members(outer)
    reasons = {c.reason for c in MembershipChange.objects.filter(segment=not_bo, change="exited")}
    assert reasons == {"uploaded list changed"}
    not_bo.refresh_from_db()
    assert not_bo.member_count == 0


# --- API ------------------------------------------------------------------------------


def test_create_static_and_upload_through_the_api(people, client_as):
    api = client_as(MARKETER)
    listed = upload("email\nann@example.org\nzz@example.org\n")
    created = api.post("/api/v1/segments/static/", {"name": "VIPs", "file": listed})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["segment"]["kind"] == "static" and body["segment"]["member_count"] == 1
    assert body["result"]["problems"] == [
        {"line": 3, "value": "zz@example.org", "error": "No profile has this identifier."}
    ]
    pk = body["segment"]["id"]
    again = api.post(
        f"/api/v1/segments/{pk}/upload/", {"file": upload("bo@example.org\n"), "kind": "email"}
    )
    assert again.status_code == 200 and again.json()["result"]["exited"] == 1
    assert members(Segment.objects.get(pk=pk)) == {pid("bo")}

    refused = api.post("/api/v1/segments/static/", {"name": "Bad", "file": upload("city\nLyon\n")})
    assert refused.status_code == 400
    assert "No identifier column" in refused.json()["error"]["fields"]["file"][0]
    assert not Segment.objects.filter(name="Bad").exists()
    empty = api.post(
        "/api/v1/segments/",
        {"name": "Empty list", "kind": "static"},
        content_type="application/json",
    )
    assert empty.status_code == 201 and empty.json()["kind"] == "static"


def test_uploading_to_a_rule_based_segment_is_a_400(people, client_as):
    segment = services.create_segment(
        name="Dynamic", rule=rule({"type": "stage", "in": ["retention"]})
    )
    answer = client_as(MARKETER).post(
        f"/api/v1/segments/{segment.pk}/upload/", {"file": upload("user_id\nann\n")}
    )
    assert answer.status_code == 400 and "segment" in answer.json()["error"]["fields"]


# --- export ---------------------------------------------------------------------------


def rows_of(segment, **kwargs):
    return list(csv.DictReader(io.StringIO("".join(export.stream_csv(segment=segment, **kwargs)))))


def test_export_has_every_member_with_identifiers_in_small_chunks(people):
    segment = static_lists.create_static_segment(name="All")
    static_lists.import_csv(segment=segment, file=upload("user_id\nann\nbo\ncy\n"))
    rows = rows_of(segment, chunk_size=2)
    assert [r["profile_id"] for r in rows] == [str(p) for p in sorted(members(segment))]
    bo = next(r for r in rows if r["name"] == "Bo")
    assert bo["email"] == "bo@example.org" and bo["phone"] == "+31612345678"
    assert bo["id_user_id"] == "bo" and bo["id_email"] == "bo@example.org"
    assert bo["entered_at"] and "stage" in bo


def test_export_is_a_generator_with_a_server_side_cursor(people, django_assert_max_num_queries):
    segment = static_lists.create_static_segment(name="All")
    static_lists.import_csv(segment=segment, file=upload("user_id\nann\nbo\ncy\n"))
    stream = export.stream_csv(segment=segment, chunk_size=1)
    assert next(stream).startswith("profile_id,name,email,phone,stage,entered_at,id_")
    with django_assert_max_num_queries(10):
        assert len(list(stream)) == 3


def test_export_leaves_out_merged_profiles_and_defuses_formulas(people):
    Profile.objects.filter(pk=pid("ann")).update(display_name='=HYPERLINK("http://x")')
    segment = static_lists.create_static_segment(name="All")
    static_lists.import_csv(segment=segment, file=upload("user_id\nann\nbo\ncy\n"))
    merge_profiles(survivor_id=pid("bo"), merged_id=pid("cy"), actor=None)
    rows = rows_of(segment)
    assert len(rows) == 2
    ann = next(r for r in rows if r["id_user_id"] == "ann")
    assert ann["name"].startswith("'=")
    assert export.safe_cell("+31612345678") == "+31612345678"
    assert export.safe_cell("-1") == "-1" and export.safe_cell("@SUM(A1)") == "'@SUM(A1)"
