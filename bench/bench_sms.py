"""SMS at speed: N pending personalised SMS deliveries (each person's cart in the
enrollment's context, the number in E.164 or national with the destination's region)
sent by ``runner.deliver_due`` in this process to the Twilio imitation
(tests/support/twilio.py, a threaded HTTP server in this process), from the start to the
last one recorded. Baseline: ``http.client`` POSTing the same N bodies, rendered and
normalised beforehand, a connection each (as the safe outbound client opens one per
request), to the same server.

Settings: CDP_BENCH_SMS (2000).
"""

from __future__ import annotations

import base64
import http.client
import os
import time
from urllib.parse import urlencode

from bench import campaigns_support as support
from bench.common import Row
from campaigns import runner, templating
from campaigns.models import Delivery
from tests.support import twilio as imitation

COUNT = int(os.environ.get("CDP_BENCH_SMS", "2000"))


def run() -> list[Row]:
    if not COUNT:
        return []
    with imitation.sms_api() as server:
        destination = imitation.destination(server, default_region="NL")
        template = templating.save_template(
            name="Bench text",
            channel="sms",
            body_text="Hi {{ traits.firstName }}, your {{ event.products.0.name }} is waiting",
        )
        _pending(destination, template)
        started = time.monotonic()
        while Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
            runner.deliver_due(limit=runner.DELIVER_LIMIT)
        seconds = time.monotonic() - started
        sent = Delivery.objects.filter(channel="sms", status=Delivery.Status.SENT).count()
        assert sent == COUNT and len(server.messages) == COUNT, (sent, len(server.messages))
        base = _baseline(server)
    rate, base_rate = COUNT / seconds, COUNT / base
    print(f"  {COUNT} SMS in {seconds:.1f} s ({rate:.0f}/s); raw POSTs {base_rate:.0f}/s")
    return [
        Row(
            f"SMS sent per second ({COUNT} personalised, runner.deliver_due, 1 process)",
            rate,
            "/s",
            "raw http.client POSTs, a connection each",
            base_rate,
            "",
        )
    ]


def _pending(destination, template) -> None:
    step = {
        "id": "sms",
        "type": "send_sms",
        "template_id": template.pk,
        "destination_id": destination.pk,
    }
    campaign = support.start_campaign(
        {"name": "SMS rate", "kind": "event", "trigger_event": "Never Sent"}, [step]
    )
    support.pending_sends(
        campaign,
        step=step,
        channel=Delivery.Channel.SMS,
        # Half national numbers (read as Dutch), half already E.164.
        traits=lambda i: {
            "phone": f"06 {10000000 + i}" if i % 2 else f"+316{20000000 + i}",
            "firstName": f"Sam{i}",
        },
        count=COUNT,
    )


def _baseline(server) -> float:
    path = f"/2010-04-01/Accounts/{imitation.SID}/Messages.json"
    auth = base64.b64encode(f"{imitation.SID}:{imitation.TOKEN}".encode()).decode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"Basic {auth}",
    }
    bodies = [
        urlencode(
            {"To": f"+316{30000000 + i}", "From": "+14155550100", "Body": f"Hi Sam{i}, waiting"}
        )
        for i in range(COUNT)
    ]
    started = time.monotonic()
    for body in bodies:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("POST", path, body=body, headers=headers)
        assert connection.getresponse().status == 201
        connection.close()
    return time.monotonic() - started
