from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# --- Consensus results ----------------------------------------------------------------
# Everything below is derived from the votes above and can be recomputed at any time
# (``python manage.py rescore``). Each result names the algorithm and version that
# produced it (see ``backend.consensus.versions``) and the votes it was computed from,
# so a stored result can be checked by recomputing it.


class GoldLabel(models.Model):
    """A known answer for one label of one message, set by a researcher (a honeypot).

    Gold answers pin the Dawid–Skene posterior of that message and label, and score
    the annotators who labelled it.
    """

    message = models.ForeignKey(
        "trees.Message", on_delete=models.CASCADE, related_name="gold_labels"
    )
    label = models.CharField(max_length=64)
    value = models.FloatField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "label"], name="goldlabel_unique"),
            models.CheckConstraint(
                condition=Q(value__gte=0.0) & Q(value__lte=1.0), name="goldlabel_value_in_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"gold {self.label}={self.value} on message {self.message_id}"


class RankingResult(models.Model):
    """The consensus of one sibling group: the ballots of one ranking work item (or,
    for imported votes without an item, all item-less ballots under ``parent``).

    ``order`` is the ranked pairs order, best first; ``margins[a][b]`` is the margin
    of ``order[a]`` over ``order[b]``; ``scores`` are Plackett–Luce log-strengths in
    the same order (zero-centred within the group: exp(s_a − s_b) estimates the odds
    that a beats b). ``min_locked_margin`` is the confidence of the order.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    tree = models.ForeignKey("trees.Tree", on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(
        "trees.Message", on_delete=models.CASCADE, related_name="ranking_results"
    )
    work_item = models.OneToOneField(
        "assignments.WorkItem",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="ranking_result",
    )
    algorithm = models.CharField(max_length=64)
    algorithm_version = models.PositiveIntegerField()
    score_algorithm = models.CharField(max_length=64)
    score_algorithm_version = models.PositiveIntegerField()
    order = models.JSONField()
    margins = models.JSONField()
    scores = models.JSONField()
    min_locked_margin = models.IntegerField(null=True, blank=True)
    tie_resolved = models.BooleanField()
    kendalls_w = models.FloatField(null=True, blank=True)
    voter_count = models.PositiveIntegerField()
    # SHA-256 of the ballots (voter, time, ranking) in the order the rule reads them.
    votes_digest = models.CharField(max_length=64)
    last_vote_at = models.DateTimeField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["parent"],
                condition=Q(work_item__isnull=True),
                name="rankingresult_one_itemless_per_parent",
            ),
        ]
        indexes = [models.Index(fields=["parent", "work_item"]), models.Index(fields=["project"])]

    def __str__(self) -> str:
        return f"ranking of the replies to message {self.parent_id}"

    @property
    def confidence(self) -> float | None:
        """The smallest locked margin as a share of the voters (0 … 1)."""
        if self.min_locked_margin is None or self.voter_count == 0:
            return None
        return self.min_locked_margin / self.voter_count


class MessageLabels(models.Model):
    """Aggregated label votes of one message and what the acceptance rule says.

    ``labels`` maps each label to ``{"kind": "flag"|"likert", "count", "mean",
    "ci_low", "ci_high"}``, flags also ``"posterior"`` (P(flag is true)) and
    ``"posterior_method"`` (``dawid_skene``, ``majority`` or ``gold``).
    ``is_accepted`` is the project's acceptance rule on the current votes; the
    lifecycle decision taken when the last review came in stays on
    ``Message.review_result``.
    """

    message = models.OneToOneField(
        "trees.Message", primary_key=True, on_delete=models.CASCADE, related_name="label_result"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    algorithm = models.CharField(max_length=64)
    algorithm_version = models.PositiveIntegerField()
    labels = models.JSONField(default=dict)
    acceptance_rule = models.CharField(max_length=32)
    acceptance_score = models.FloatField(null=True, blank=True)
    is_accepted = models.BooleanField(null=True, blank=True)
    vote_count = models.PositiveIntegerField()
    # SHA-1 of everything above, so a rescore finds unchanged rows without reading them.
    digest = models.CharField(max_length=40, default="")
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["project"])]

    def __str__(self) -> str:
        return f"labels of message {self.message_id}"


class LabelModel(models.Model):
    """The Dawid–Skene fit of one flag in one project, from its last rescore.

    The prevalence, the typical annotator (vote-weighted mean sensitivity and
    specificity, used for annotators the fit has not seen) and how the fit went.
    Each annotator's own sensitivity and specificity are on ``AnnotatorQuality``.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=64)
    method = models.CharField(max_length=32)  # "dawid_skene" or "majority"
    prevalence = models.FloatField()
    typical_sensitivity = models.FloatField()
    typical_specificity = models.FloatField()
    item_count = models.PositiveIntegerField()
    vote_count = models.PositiveIntegerField()
    overlap = models.PositiveIntegerField()
    iterations = models.PositiveIntegerField()
    converged = models.BooleanField()
    log_likelihood = models.FloatField(null=True, blank=True)
    algorithm = models.CharField(max_length=64)
    algorithm_version = models.PositiveIntegerField()
    fitted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "label"], name="labelmodel_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.label} model of project {self.project_id}"


class AnnotatorQuality(models.Model):
    """How reliable one person's votes are in one project (from the last rescore).

    * ``ds_accuracy``: expected share of their flag votes that match the Dawid–Skene
      truth; ``labels`` holds per flag ``{"sensitivity", "specificity", "accuracy",
      "votes"}``.
    * ``gold_accuracy``: 1 − mean |vote − gold| over their votes on gold answers.
    * ``tau_mean``: mean Kendall τ of their rankings against the leave-one-out
      consensus; ``tau_shrunk`` pulls it toward the project mean by task count.
    * Position bias: how often their best pick was the first/last candidate shown,
      with the one-sided p-value of that count under "position does not matter".
    * ``random_p_value``: p-value of "their rankings agree with the others no more
      than chance"; small means better than random.
    * ``weight``: the weight of their label votes where the project weights votes.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    label_vote_count = models.PositiveIntegerField(default=0)
    ds_accuracy = models.FloatField(null=True, blank=True)
    labels = models.JSONField(default=dict)
    gold_vote_count = models.PositiveIntegerField(default=0)
    gold_accuracy = models.FloatField(null=True, blank=True)
    ranking_count = models.PositiveIntegerField(default=0)
    tau_mean = models.FloatField(null=True, blank=True)
    tau_shrunk = models.FloatField(null=True, blank=True)
    first_pick_rate = models.FloatField(null=True, blank=True)
    last_pick_rate = models.FloatField(null=True, blank=True)
    position_bias_p_value = models.FloatField(null=True, blank=True)
    is_position_biased = models.BooleanField(default=False)
    random_p_value = models.FloatField(null=True, blank=True)
    is_random = models.BooleanField(default=False)
    weight = models.FloatField(default=1.0)
    algorithm = models.CharField(max_length=64)
    algorithm_version = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="annotatorquality_unique"),
        ]
        indexes = [models.Index(fields=["user"])]

    def __str__(self) -> str:
        return f"quality of user {self.user_id} in project {self.project_id}"


class AgreementSnapshot(models.Model):
    """Inter-annotator agreement of one project at one moment, for one scope.

    ``task_kind`` is an assignment kind (``label_assistant_reply``,
    ``rank_prompter_replies``, …) or ``""`` for all kinds together; ``label`` is a
    label name, or ``""`` for rankings. ``alpha`` is Krippendorff's alpha at
    ``level`` (nominal for flags and for pairwise ranking preferences, interval for
    Likert scales); ``kendalls_w`` the mean Kendall's W of ranking groups.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField(db_index=True)
    task_kind = models.CharField(max_length=32, blank=True)
    label = models.CharField(max_length=64, blank=True)
    level = models.CharField(max_length=16)
    alpha = models.FloatField(null=True, blank=True)
    pairwise_agreement = models.FloatField(null=True, blank=True)
    kendalls_w = models.FloatField(null=True, blank=True)
    unit_count = models.PositiveIntegerField()
    judgement_count = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=64)
    algorithm_version = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["project", "taken_at"])]

    def __str__(self) -> str:
        return f"agreement {self.task_kind or 'all'}/{self.label or 'ranking'} at {self.taken_at}"


class RescoreState(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RescoreRun(models.Model):
    """One re-scoring of a whole project: progress while it runs, counts after."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=16, choices=RescoreState.choices, default=RescoreState.RUNNING
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    stage = models.CharField(max_length=64, blank=True)
    progress = models.FloatField(default=0.0)
    algorithms = models.JSONField(default=dict)
    counts = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # One rescore of a project at a time (a second one waits its turn or is refused).
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(state="running"),
                name="rescorerun_one_running_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"rescore {self.pk} of project {self.project_id} ({self.state})"
