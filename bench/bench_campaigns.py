"""Campaigns at speed (the activation issue): three figures, each beside a baseline from the
same run. An aiosmtpd server runs in this process and stamps when each message arrives.

1. Trigger → mail: an event campaign whose first step is send_email; one real Celery
   worker (prefork, one slot, as deployed; no beat: only the on-commit triggers). Events
   (``Cart Abandoned`` with a cart) go one at a time through
   ``integrations.services.ingest_messages``, each for another person (identified
   before, with marketing consent and an e-mail); measured: from just before
   ingest_messages to the SMTP server accepting that person's message, p50 / p95.
   Baseline: the same people sent a pre-rendered message with raw smtplib (a connection
   each), from the call to the server's acceptance.
2. E-mails per second: N pending personalised e-mail deliveries (each person's cart in
   the enrollment's context, tracked links, unsubscribe, open pixel), sent twice: by
   ``runner.deliver_due`` in this process (which also runs the SMTP server), and by
   real Celery workers from one queued delivery task (as deployed: a full run queues
   the next and asks another worker to help); each from its start to the server
   accepting the last one. Baseline: raw smtplib sending the same N messages, rendered beforehand,
   over one connection.
3. Timers: N enrollments waiting at a timed wait (``w1`` → ``w2``, another wait), all
   due at **one instant** T (set 20 s ahead, after the workers are up: in a journey a
   timer is set when the person enters the wait, long before it fires); several real
   workers; nothing but what the runner schedules itself when the bench kicks one run
   before T, as beat would: the timer run at T and, as that many are due at one instant,
   the preparation ahead of T (runner.stage_waits), with their helpers. Polled
   every 10 ms: how many still wait at w1. Lag of each move = when it was seen − T;
   p50 / p95 / max. Then a backlog: as many other timers made overdue at once (nothing
   can be prepared) and the time until the runner moved them all. Baseline: one raw
   ``UPDATE … SET step_id, wake_at, context`` of the same rows (rolled back).

Settings: CDP_BENCH_CAMP_TRIGGER (40 events), CDP_BENCH_CAMP_INTERVAL (0.3 s between
them), CDP_BENCH_CAMP_EMAILS (5000), CDP_BENCH_CAMP_EMAIL_WORKERS (2),
CDP_BENCH_CAMP_TIMERS (100000), CDP_BENCH_CAMP_TIMER_WORKERS (2),
CDP_BENCH_CAMP_TIMER_LEAD (20 s from setting the timers to T).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from bench import campaigns_support as support
from bench import campaigns_timers
from bench.common import Row, percentile, progress
from campaigns import runner, templating
from campaigns.models import Delivery
from campaigns.tasks import retry_deliveries
from integrations import services as collect
from profiles.models import Identity

TRIGGER = int(os.environ.get("CDP_BENCH_CAMP_TRIGGER", "40"))
INTERVAL = float(os.environ.get("CDP_BENCH_CAMP_INTERVAL", "0.3"))
EMAILS = int(os.environ.get("CDP_BENCH_CAMP_EMAILS", "5000"))
EMAIL_WORKERS = int(os.environ.get("CDP_BENCH_CAMP_EMAIL_WORKERS", "2"))


def run() -> list[Row]:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log
    rows = []
    if TRIGGER:
        rows += _trigger()
    if EMAILS:
        rows += _emails()
    if campaigns_timers.TIMERS:
        rows += campaigns_timers.run()
    return rows


# --- 1. trigger → mail ----------------------------------------------------------------


def _ingest(collect, source_id, messages):
    result = collect.ingest_messages(source_id=source_id, messages=messages)
    assert result.stored == len(messages), result


def _trigger() -> list[Row]:
    users = [f"cb-{i:05d}" for i in range(TRIGGER + 1)]
    with support.SmtpServer() as server:
        destination, template = support.destination(server.port), support.template()
        # The shop's backend: a server source links user ids and its e-mails are
        # send addresses (a website's unsigned ones are not; see profiles/trust.py).
        source = collect.create_source(name="Campaigns bench shop", kind="server")
        support.start_campaign(
            {
                "name": "Cart reminder",
                "kind": "event",
                "trigger_event": "Cart Abandoned",
                "entry": "every",
            },
            [
                {
                    "id": "mail",
                    "type": "send_email",
                    "template_id": template.pk,
                    "destination_id": destination.pk,
                }
            ],
        )
        workers, logs = support.start_workers(1, "campbench")
        try:
            stamp = datetime.now(UTC).isoformat()
            for start in range(0, len(users), 100):
                _ingest(
                    collect,
                    source.id,
                    [
                        {
                            "type": "identify",
                            "userId": u,
                            "messageId": f"cb-id-{u}",
                            "timestamp": stamp,
                            "traits": {
                                "email": f"{u}@example.org",
                                "firstName": f"Pat{u[-3:]}",
                                "marketingOptIn": True,
                            },
                        }
                        for u in users[start : start + 100]
                    ],
                )
            support.wait_for(
                lambda: Identity.objects.filter(value__in=users).count() == len(users),
                timeout=120,
                what="the people to be identified",
            )
            _event(collect, source.id, users[0], 0)  # warm-up: connections, caches
            support.wait_for(
                lambda: f"{users[0]}@example.org" in server.handler.at,
                timeout=120,
                what="the warm-up e-mail",
            )
            latency = []
            for i, user in enumerate(users[1:], start=1):
                sent = time.time()
                _event(collect, source.id, user, i)
                to = f"{user}@example.org"
                support.wait_for(
                    lambda to=to: to in server.handler.at,
                    timeout=60,
                    what=f"{to}'s mail",
                    interval=0.002,
                )
                latency.append(server.handler.at[to] - sent)
                progress(i, len(users) - 1, "events → mails")
                time.sleep(INTERVAL)
        finally:
            support.stop_workers(workers, logs)
        baseline = []
        for i, user in enumerate(users[1:], start=1):
            to = f"base-{user}@example.org"
            payload = support.message_bytes(to, f"Pat, you left {i} things", "<p>x</p>" * 20, "x")
            sent = time.time()
            support.raw_send(server.port, [(to, payload)], one_connection=False)
            support.wait_for(
                lambda to=to: to in server.handler.at,
                timeout=10,
                what="baseline mail",
                interval=0.001,
            )
            baseline.append(server.handler.at[to] - sent)
    ms = [x * 1000 for x in latency]
    base = [x * 1000 for x in baseline]
    print(
        f"  trigger → mail: p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
        f"max {max(ms):.0f} ms; raw smtplib p50 {percentile(base, 50):.1f} ms",
        flush=True,
    )
    what = f"{len(ms)} events, one at a time, 1 worker"
    return [
        Row(
            f"Trigger: event ingested → SMTP accepted, p50 ({what})",
            percentile(ms, 50),
            "ms",
            "raw smtplib send, p50",
            percentile(base, 50),
            "",
        ),
        Row(
            f"Trigger: event ingested → SMTP accepted, p95 ({what})",
            percentile(ms, 95),
            "ms",
            "raw smtplib send, p95",
            percentile(base, 95),
            "<= 2,000 ms",
        ),
    ]


def _event(collect, source_id, user, i):
    _ingest(
        collect,
        source_id,
        [
            {
                "type": "track",
                "event": "Cart Abandoned",
                "userId": user,
                "messageId": f"cb-ev-{uuid.uuid4().hex}",
                "timestamp": datetime.now(UTC).isoformat(),
                "properties": support.cart(i),
            }
        ],
    )


# --- 2. e-mails per second ------------------------------------------------------------


def _emails() -> list[Row]:
    with support.SmtpServer() as server:
        destination, template = support.destination(server.port), support.template()
        step = {
            "id": "mail",
            "type": "send_email",
            "template_id": template.pk,
            "destination_id": destination.pk,
        }
        campaign = support.start_campaign(
            {"name": "Mail rate", "kind": "event", "trigger_event": "Never Sent"}, [step]
        )
        profiles, enrollments = support.pending_sends(
            campaign,
            step=step,
            channel=Delivery.Channel.EMAIL,
            traits=lambda i: {"email": f"mr-{i}@example.org", "firstName": f"Sam{i}"},
            count=EMAILS,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE campaigns_delivery")

        # Baseline: the same messages rendered beforehand, one connection.
        payloads = []
        for p, e in zip(profiles, enrollments, strict=True):
            r = templating.render(template=template, profile=p, context=e.context)
            to = f"base-{p.traits['email']}"
            payloads.append((to, support.message_bytes(to, r.subject, r.html, r.text)))
        server.handler.reset()
        started = time.time()
        support.raw_send(server.port, payloads, one_connection=True)
        support.wait_for(lambda: server.handler.count >= EMAILS, timeout=300, what="baseline mails")
        base_seconds = server.handler.last - started

        one = _send_in_process(server, campaign)
        _reset_deliveries(campaign)
        workers = _send_by_workers(server, campaign)
    rate, base_rate = EMAILS / one, EMAILS / base_seconds
    workers_rate = EMAILS / workers
    print(
        f"  e-mails: {EMAILS:,} in {one:.2f} s = {rate:,.0f}/s in this process; "
        f"{workers:.2f} s = {workers_rate:,.0f}/s by {EMAIL_WORKERS} workers; raw smtplib "
        f"{base_seconds:.2f} s = {base_rate:,.0f}/s",
        flush=True,
    )
    base = "raw smtplib, pre-rendered, one connection"
    return [
        Row(
            f"E-mails/s: {EMAILS:,} personalised, runner.deliver_due in this process",
            rate,
            "/s",
            base,
            base_rate,
            "",
        ),
        Row(
            f"E-mails/s: {EMAILS:,} personalised, {EMAIL_WORKERS} Celery workers",
            workers_rate,
            "/s",
            base,
            base_rate,
            ">= 500 /s",
        ),
    ]


def _send_in_process(server, campaign) -> float:
    """Seconds from the first deliver_due call to the server accepting the last one."""
    server.handler.reset()
    started = time.time()
    done = 0
    while done < EMAILS:
        step = runner.deliver_due(limit=min(1000, EMAILS - done))
        if not step:
            break
        done += step
        progress(done, EMAILS, "deliver_due, this process")
    support.wait_for(lambda: server.handler.count >= EMAILS, timeout=300, what="delivered mails")
    assert _sent(campaign) == EMAILS, (_sent(campaign), EMAILS)
    server.handler.check_messages()
    return server.handler.last - started


def _send_by_workers(server, campaign) -> float:
    """Seconds from queuing one delivery task (as a run that created the deliveries
    does) to the server accepting the last message; the workers fan the work out."""
    workers, logs = support.start_workers(EMAIL_WORKERS, "mailbench")
    try:
        support.wait_for(lambda: support.workers_ready(len(workers)), timeout=120, what="workers")
        server.handler.reset()
        started = time.time()
        retry_deliveries.delay()
        while server.handler.count < EMAILS:
            if time.time() - started > 300:
                raise RuntimeError("timed out waiting for the workers' mails; see their logs")
            progress(server.handler.count, EMAILS, f"{EMAIL_WORKERS} workers")
            time.sleep(0.2)
        progress(EMAILS, EMAILS, f"{EMAIL_WORKERS} workers")
        support.wait_for(lambda: _sent(campaign) == EMAILS, timeout=60, what="sent records")
    finally:
        support.stop_workers(workers, logs)
    server.handler.check_messages()
    return server.handler.last - started


def _sent(campaign) -> int:
    return Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).count()


def _reset_deliveries(campaign) -> None:
    Delivery.objects.filter(campaign=campaign).update(
        status=Delivery.Status.PENDING,
        reason="",
        sent_at=None,
        attempts=0,
        next_attempt_at=timezone.now(),
    )
