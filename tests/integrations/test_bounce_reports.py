"""Bounce messages read with the standard library's e-mail package: delivery status
notifications (RFC 3464) and complaint reports (ARF, RFC 5965); anything else is refused
with the reason, never half-read."""

import pytest

from integrations.destinations import dsn

ARF = b"""From: abuse@isp.example
Subject: Complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="f"

--f
Content-Type: text/plain

A complaint.

--f
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: isp/1.0
Version: 1
Original-Rcpt-To: <Ann@Example.org>

--f
Content-Type: message/rfc822

Message-ID: <12.mail@cdp>
To: ann@example.org
Subject: News

Hello
--f--
"""

DELAYED = b"""From: MAILER-DAEMON@mx.example.org
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; ann@example.org
Action: delayed
Status: 4.4.1

Final-Recipient: rfc822; bob@example.org
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 mailbox full

--b--
"""


def test_a_complaint_report_names_the_recipient_and_the_message():
    assert dsn.parse(ARF) == [
        dsn.Report(type="complaint", email="ann@example.org", message_id="<12.mail@cdp>")
    ]


def test_each_failed_recipient_of_a_dsn_is_a_bounce_and_a_delay_is_none():
    (report,) = dsn.parse(DELAYED)
    assert (report.type, report.email, report.status) == ("bounce", "bob@example.org", "5.2.2")
    assert report.diagnostic == "smtp; 552 mailbox full"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"Subject: hi\n\nhello\n", "not a multipart/report"),
        (
            b'Content-Type: multipart/report; report-type=disposition-notification; boundary="x"'
            b"\n\n--x--\n",
            "a report of type disposition-notification",
        ),
        (
            b'Content-Type: multipart/report; report-type=delivery-status; boundary="x"\n\n'
            b"--x\nContent-Type: text/plain\n\nhi\n--x--\n",
            "without its message/delivery-status part",
        ),
    ],
)
def test_anything_else_is_refused_with_the_reason(data, reason):
    with pytest.raises(dsn.NotAReport) as refused:
        dsn.parse(data)
    assert reason in str(refused.value)
