"""The Celery app. Settings come from Django's (``CELERY_*``); the beat schedule lives here."""

from __future__ import annotations

import os

from celery import Celery, signals

from backend.common.log import celery_logging_setup, celery_task_finished, celery_task_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")

app = Celery(
    "arbor",
    include=[
        "tasks.trees",
        "tasks.assignments",
        "tasks.exports",
        "tasks.community",
        "tasks.consensus",
        "tasks.quality",
        "tasks.common",
        "tasks.webhooks",
        "tasks.arena",
    ],
)
app.config_from_object("django.conf:settings", namespace="CELERY")

# Workers and beat log with Django's LOGGING (JSON or text, docs/observability.md), and
# every line a task writes carries its id and the id of the request behind it.
signals.setup_logging.connect(celery_logging_setup, weak=False)
signals.task_prerun.connect(celery_task_started, weak=False)
signals.task_postrun.connect(celery_task_finished, weak=False)


app.conf.beat_schedule = {
    # Keeps every arena project's pool of ready battles full (failed ones replaced).
    "arena-fill-pools": {
        "task": "tasks.arena.fill_all_pools",
        "schedule": float(os.environ.get("ARBOR_ARENA_FILL_SECONDS", "30")),
    },
    # Asks the configured models for replies to prompter messages waiting for some.
    "arena-model-replies": {
        "task": "tasks.arena.request_model_replies",
        "schedule": float(os.environ.get("ARBOR_ARENA_FILL_SECONDS", "30")),
    },
    # Follow-up work the broker could not take when it was owed (it was down) is sent
    # within seconds of its return (backend.common.outbox).
    "outbox-relay": {
        "task": "tasks.common.relay_outbox",
        "schedule": float(os.environ.get("ARBOR_OUTBOX_RELAY_SECONDS", "5")),
    },
    # Expires abandoned reservations, runs the prompt lottery and re-checks every
    # active tree: the guarantee that no tree stays stuck.
    "sweep": {
        "task": "tasks.assignments.sweep",
        "schedule": float(os.environ.get("ARBOR_SWEEP_INTERVAL_SECONDS", "60")),
    },
    # Export/import jobs whose task was lost (broker down when queued, worker died)
    # are queued again; running a job twice is harmless.
    "exports-requeue-stale": {"task": "tasks.exports.requeue_stale", "schedule": 300.0},
    # Uploaded import files are deleted when their job ends; this removes the rest.
    "imports-sweep-files": {"task": "tasks.exports.sweep_import_files", "schedule": 3600.0},
    # Points ledger (incremental, from the audit events since the last pass) and the
    # materialised leaderboards; the API only reads them. The nightly reconcile
    # recomputes the whole ledger from the raw data (docs/community.md).
    "community-refresh": {
        "task": "tasks.community.refresh",
        "schedule": float(os.environ.get("ARBOR_COMMUNITY_INTERVAL_SECONDS", "120")),
    },
    "community-reconcile": {"task": "tasks.community.reconcile", "schedule": 86400.0},
    # Re-score every active project from its votes: refits Dawid–Skene and annotator
    # quality (which score new reviews in between) and appends an agreement snapshot.
    "consensus-rescore": {
        "task": "tasks.consensus.rescore_active_projects",
        "schedule": float(os.environ.get("ARBOR_RESCORE_INTERVAL_SECONDS", "86400")),
    },
}
