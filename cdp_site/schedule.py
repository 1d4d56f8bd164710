"""The periodic work celery beat starts (settings.CELERY_BEAT_SCHEDULE): which task runs how
often. A plain table, kept out of settings.py because nothing in it is read from the
environment; each entry says why it exists."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Pull connectors: starts the runs whose schedule has come, and requeues a run whose
    # slice task was lost (integrations/connectors/services.py).
    "integrations-start-due-syncs": {
        "task": "integrations.connectors.tasks.start_due_syncs",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # The journey view's rollup, summed to one row per hour and move (insights/models.py).
    "insights-compact-stage-flows": {
        "task": "insights.tasks.compact_stage_flows",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    # The dashboard's revenue of 30 days, read ahead of the home page (insights/dashboard).
    "insights-refresh-dashboard": {
        "task": "insights.tasks.refresh_dashboard",
        "schedule": 30.0,
        "options": {"expires": 30},
    },
    # Tasks asked for while the broker was unreachable (cdp_site/outbox.py).
    "cdp-flush-outbox": {
        "task": "cdp_site.tasks.flush_outbox",
        "schedule": 30.0,
        "options": {"expires": 60},
    },
    # Audience syncs: segment entries and exits, consent changes, reach the ad platforms
    # within seconds (campaigns/audiences/sync.py).
    "campaigns-sync-audiences": {
        "task": "campaigns.tasks.sync_audiences",
        "schedule": 5.0,
        "options": {"expires": 10},
    },
    # Safety net beside the on-commit trigger: events never wait long in the inbox.
    "integrations-process-events": {
        "task": "integrations.tasks.process_event_batch",
        "schedule": 5.0,
        "options": {"expires": 30},  # a stopped worker should not find a pile of them
    },
    # The audit trail's partitions for this month and the next two, and its retention
    # (cdp_site/audit.py).
    "cdp-ensure-audit-partitions": {
        "task": "cdp_site.tasks.ensure_audit_partitions",
        "schedule": 3600.0,
    },
    # Keeps this month's and the next two months' event partitions in place.
    "integrations-ensure-event-partitions": {
        "task": "integrations.tasks.ensure_event_partitions",
        "schedule": 3600.0,
    },
    "integrations-purge-rejected-events": {
        "task": "integrations.tasks.purge_rejected_events",
        "schedule": 3600.0,
    },
    # Signatures of inbound webhooks are kept only while a replay could still pass.
    "integrations-purge-webhook-signatures": {
        "task": "integrations.tasks.purge_webhook_signatures",
        "schedule": 600.0,
    },
    # Per-minute counts (the live chart reads the last hour), imports' stored files and
    # dead letters past their retention (the settings below).
    "integrations-purge-minute-stats": {
        "task": "integrations.tasks.purge_minute_stats",
        "schedule": 3600.0,
    },
    "integrations-purge-import-files": {
        "task": "integrations.imports.tasks.purge_import_files",
        "schedule": 3600.0,
    },
    "destinations-purge-dead-letters": {
        "task": "integrations.destinations.tasks.purge_dead_letters",
        "schedule": 3600.0,
    },
    # Computed traits over sliding windows ("orders in the last 30 days") and lapsed
    # customers change with time alone.
    "profiles-recompute-sliding-traits": {
        "task": "profiles.tasks.recompute_sliding_traits",
        "schedule": 3600.0,
    },
    # Product recommendations for everyone, from every order (campaigns/recommendations):
    # a person's lists follow their own orders at once; this brings in everyone else's.
    "campaigns-recompute-recommendations": {
        "task": "campaigns.tasks.recompute_recommendations",
        "schedule": crontab(minute=30, hour=3),
    },
    "profiles-mark-lapsed": {"task": "profiles.tasks.mark_lapsed_profiles", "schedule": 3600.0},
    # Privacy requests' exports are copies of a person's data: gone when their link expires.
    "profiles-purge-privacy-exports": {
        "task": "profiles.tasks.purge_privacy_exports",
        "schedule": 3600.0,
    },
    # An erasure's jobs at the destinations that received the person: their retries come
    # due with time alone (profiles/privacy/propagation.py).
    "profiles-run-propagation-jobs": {
        "task": "profiles.tasks.run_propagation_jobs",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Retention (profiles/retention): events past their rule, inactive profiles and the
    # operational tables' windows, once a day (the purges above also run hourly on their own).
    "profiles-run-retention": {"task": "profiles.tasks.run_retention", "schedule": 86400.0},
    # Probabilistic matching (profiles/matching/): a full pass every night, only while
    # matching is enabled and a model fits the settings (the task skips quietly
    # otherwise). Profiles changed in between are the incremental matcher's: a pass of
    # kind "incremental" scores every profile, too much to repeat every few minutes.
    "profiles-match-full-pass": {
        "task": "profiles.tasks.scheduled_match_pass",
        "schedule": crontab(hour=2, minute=30),
        "args": ("full",),
    },
    # The incremental matcher's safety net (profile_changed triggers it at once).
    "profiles-match-changes": {
        "task": "profiles.tasks.match_changed_profiles",
        "schedule": 30.0,
        "options": {"expires": 60},
    },
    # Quintile scores rank every customer against the others: recomputed for all (one scan
    # of the profiles; a rerun that finds nothing changed writes nothing).
    "profiles-recompute-scores": {"task": "profiles.tasks.recompute_scores", "schedule": 900.0},
    # Segments: the change-signal reader's safety net beside its on-commit trigger, the
    # segments whose time windows slide, and the size-over-time samples.
    "segments-process-changes": {
        "task": "segments.tasks.process_profile_changes",
        "schedule": 5.0,
        "options": {"expires": 30},
    },
    "segments-recompute-sliding": {
        "task": "segments.tasks.recompute_sliding_segments",
        "schedule": 300.0,
    },
    "segments-record-sizes": {"task": "segments.tasks.record_segment_sizes", "schedule": 3600.0},
    # A segment whose evaluation failed is recomputed in full until it succeeds.
    "segments-retry-failing": {
        "task": "segments.tasks.retry_failing_segments",
        "schedule": 300.0,
    },
    # Campaigns: the trigger readers' and the due-step runner's safety nets beside their
    # on-commit triggers (timers come due without any signal), and delivery retries.
    "campaigns-read-triggers": {
        "task": "campaigns.tasks.read_triggers",
        "schedule": 5.0,
        "options": {"expires": 30},
    },
    # The personalisation API's cache: its change-record reader's safety net.
    "campaigns-read-personalization": {
        "task": "campaigns.tasks.read_personalization",
        "schedule": 5.0,
        "options": {"expires": 30},
    },
    "campaigns-run-due-steps": {
        "task": "campaigns.tasks.run_due_steps",
        "schedule": 5.0,
        "options": {"expires": 30},
    },
    "campaigns-retry-deliveries": {
        "task": "campaigns.tasks.retry_deliveries",
        "schedule": 30.0,
        "options": {"expires": 60},
    },
    "campaigns-purge-step-logs": {"task": "campaigns.tasks.purge_step_logs", "schedule": 3600.0},
    # Bounces dropped into the SMTP destinations' bounce folders (campaigns/bounces.py).
    "campaigns-read-bounce-folders": {
        "task": "campaigns.tasks.read_bounce_folders",
        "schedule": 120.0,
        "options": {"expires": 120},
    },
    # Destinations: CSV exports of a segment on their own schedule (config.every_hours).
    "destinations-run-scheduled-exports": {
        "task": "segments.tasks.run_scheduled_exports",
        "schedule": 300.0,
    },
}
