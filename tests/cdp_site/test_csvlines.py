"""The one CSV reader of uploaded files: rows by the line they start at, the byte to
resume from, and a broken row or a line that is not UTF-8 reported without stopping."""

import io

from cdp_site import csvlines


def read(data: bytes, **kwargs) -> list[csvlines.CsvRow]:
    return list(csvlines.rows(csvlines.Lines(io.BytesIO(data)), delimiter=",", **kwargs))


def test_a_quoted_line_break_keeps_the_row_whole_and_offsets_point_past_each_row():
    data = b'\xef\xbb\xbfa,b\n1,"two\nlines"\n\n3,4\n'
    rows = read(data)
    assert [(r.line, r.end_line, r.cells) for r in rows] == [
        (1, 1, ["a", "b"]),
        (2, 3, ["1", "two\nlines"]),
        (5, 5, ["3", "4"]),
    ]
    assert [r.end_offset for r in rows] == [7, 21, 26]
    assert data[21:] == b"\n3,4\n"


def test_a_broken_row_and_a_latin1_line_are_reported_and_the_rows_after_them_read():
    data = 'x\nann,"q"z\ncafé\nok\n'.encode("latin-1")
    lines = csvlines.Lines(io.BytesIO(data))
    first = next(lines)  # read ahead, as a caller looking at the header does
    rows = list(csvlines.rows(lines, delimiter=",", first=first))
    assert [(r.line, r.cells, r.error) for r in rows] == [
        (1, ["x"], ""),
        (2, None, "Unreadable CSV row: ',' expected after '\"'."),
        (3, None, "Line 3 is not valid UTF-8."),
        (4, ["ok"], ""),
    ]


def test_the_likeliest_delimiter_is_the_one_the_header_uses_most():
    assert csvlines.likeliest_delimiter("a;b;c,d") == ";"
    assert csvlines.likeliest_delimiter("email") == ","
