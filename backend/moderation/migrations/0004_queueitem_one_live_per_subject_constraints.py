from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0003_one_live_item_per_subject"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="queueitem",
            name="queueitem_one_live_per_message_reason",
        ),
        migrations.RemoveConstraint(
            model_name="queueitem",
            name="queueitem_one_live_per_tree_reason",
        ),
        migrations.AddConstraint(
            model_name="queueitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    models.Q(("state", "resolved"), _negated=True), ("message__isnull", False)
                ),
                fields=("message",),
                name="queueitem_one_live_per_message",
            ),
        ),
        migrations.AddConstraint(
            model_name="queueitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    models.Q(("state", "resolved"), _negated=True), ("message__isnull", True)
                ),
                fields=("tree",),
                name="queueitem_one_live_per_tree",
            ),
        ),
    ]
