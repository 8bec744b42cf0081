"""Exact and near duplicates among a project's initial prompts in one language.

Exact: the hash of the normalised text, an indexed column; near: MinHash signatures,
stored per prompt (``MinHashSignature``) and queried through this process's LSH index,
each candidate confirmed by its estimated Jaccard similarity against the project's
threshold. Either links to the **earliest** original (by creation time, then id) that
is not deleted; a prompt is never a duplicate of a later one.
"""

from __future__ import annotations

from django.db.models import Q

from backend.quality.models import MessageQuality, MinHashSignature, QualityFlag
from backend.quality.registry import QualityContext, SignalProvider
from backend.quality.signals import duplicates
from backend.trees.models import Message


def _earlier_prompts(message: Message) -> Q:
    """Initial prompts of the same project written before ``message``."""
    return Q(
        tree__project_id=message.tree.project_id,
        parent__isnull=True,
        is_deleted=False,
    ) & (Q(created_at__lt=message.created_at) | Q(created_at=message.created_at, pk__lt=message.pk))


class DuplicatesProvider(SignalProvider):
    name = "duplicates"
    fields = ("exact_key", "near_duplicate_of", "similarity")
    flags = (QualityFlag.EXACT_DUPLICATE, QualityFlag.NEAR_DUPLICATE)
    # It stores the prompt's signature and adds it to the near-duplicate index.
    stores_state = True

    @property
    def version(self) -> str:
        return duplicates.VERSION

    def applies_to(self, context: QualityContext) -> bool:
        return context.is_initial_prompt

    def compute(self, row: MessageQuality, context: QualityContext) -> list[str]:
        message = context.message
        project = context.project
        row.exact_key = duplicates.exact_key(message.text)
        signature = duplicates.minhash_signature(message.text)
        MinHashSignature.objects.update_or_create(
            message_id=message.pk,
            defaults={
                "project_id": project.pk,
                "lang": message.lang,
                "signature": signature,
                "version": duplicates.VERSION,
            },
        )
        context.near_duplicates.add(
            project_id=project.pk, lang=message.lang, message_id=message.pk, signature=signature
        )
        exact_ids = MessageQuality.objects.filter(
            project_id=project.pk, exact_key=row.exact_key
        ).values("message_id")
        original = (
            Message.objects.filter(_earlier_prompts(message), pk__in=exact_ids)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if original is not None:
            row.near_duplicate_of_id = original
            row.similarity = 1.0
            return [QualityFlag.EXACT_DUPLICATE]
        threshold = project.quality_near_duplicate_threshold
        candidates = context.near_duplicates.candidates(
            project_id=project.pk, lang=message.lang, threshold=threshold, signature=signature
        )
        similar = {
            candidate: similarity
            for candidate, stored in candidates.items()
            if candidate != message.pk
            and (similarity := duplicates.jaccard_estimate(signature, stored)) >= threshold
        }
        if not similar:
            return []
        earliest = (
            Message.objects.filter(_earlier_prompts(message), pk__in=list(similar))
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if earliest is None:
            return []  # the similar prompts are later ones: this is their original
        row.near_duplicate_of_id = earliest
        row.similarity = round(similar[earliest], 4)
        return [QualityFlag.NEAR_DUPLICATE]


provider = DuplicatesProvider()
