"""One live queue item per subject (a message; a tree for items without a message),
holding every reason it was raised for.

Before, each reason had its own live item, so a message that was reported and
red-flagged showed up twice. Existing live duplicates are merged into the oldest one
(its reasons, details and occurrences join it); the others are resolved as "merged"
with a note naming the item they joined, so nothing that points at them dangles.
"""

import django.db.models.deletion
from django.db import migrations, models


def _merged_details(old, new):
    merged = dict(old)
    for key, value in new.items():
        before = merged.get(key)
        if isinstance(before, list) and isinstance(value, list):
            merged[key] = before + [entry for entry in value if entry not in before]
        else:
            merged[key] = value
    return merged


def reasons_and_merge(apps, schema_editor):
    QueueItem = apps.get_model("moderation", "QueueItem")
    QueueItemReason = apps.get_model("moderation", "QueueItemReason")
    QueueItemReason.objects.bulk_create(
        [
            QueueItemReason(item_id=pk, reason=reason)
            for pk, reason in QueueItem.objects.values_list("pk", "reason").iterator()
        ],
        ignore_conflicts=True,
    )
    groups = {}
    for item in QueueItem.objects.exclude(state="resolved").order_by("created_at", "pk"):
        key = ("message", item.message_id) if item.message_id else ("tree", item.tree_id)
        groups.setdefault(key, []).append(item)
    for items in groups.values():
        if len(items) < 2:
            continue
        keeper, others = items[0], items[1:]
        for other in others:
            keeper.details = _merged_details(keeper.details, other.details)
            keeper.occurrences += other.occurrences
            QueueItemReason.objects.bulk_create(
                [QueueItemReason(item_id=keeper.pk, reason=other.reason)], ignore_conflicts=True
            )
            other.state = "resolved"
            other.resolution = "merged"
            other.note = f"merged into queue item #{keeper.pk}"
            other.claimed_by_id = None
            other.claim_expires_at = None
            other.save(
                update_fields=["state", "resolution", "note", "claimed_by", "claim_expires_at"]
            )
        keeper.save(update_fields=["details", "occurrences"])


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0002_bans_and_scoring_failed_reason"),
        ("trees", "0002_reactions"),
    ]

    operations = [
        migrations.CreateModel(
            name="QueueItemReason",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("report", "Reported by a volunteer"),
                            ("red_flag", "Red flags"),
                            ("quality_flag", "Automatic quality flag"),
                            ("many_skips", "Many skipped replies"),
                            ("rejected_prompt", "Prompt rejected in review"),
                            ("scoring_failed", "Scoring kept failing"),
                        ],
                        max_length=32,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "item",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reason_rows",
                        to="moderation.queueitem",
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
                "indexes": [
                    models.Index(fields=["reason", "item"], name="queueitemreason_reason_item")
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("item", "reason"), name="queueitemreason_once")
                ],
            },
        ),
        # The new unique indexes come in the next migration: PostgreSQL refuses to
        # index a table with row changes still to be checked in the same transaction.
        migrations.RunPython(reasons_and_merge, migrations.RunPython.noop),
    ]
