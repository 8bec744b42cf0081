"""Quality pipeline benchmark: messages per second through ``message_quality_compute``
(every signal, stored), in one process on one core.

    python bench/quality_pipeline.py                 # 400 prompts + 400 replies
    python bench/quality_pipeline.py --messages 2000 --eval-prompts 500

Creates a scratch SQLite database (``--database``, deleted afterwards), migrates it,
creates a project with one eval set of ``--eval-prompts`` prompts and ``--messages``
messages (half initial prompts, half replies; English texts of 80–600 characters,
one in ten with an e-mail address, one in twenty a near copy of an earlier prompt,
one in fifty copying an eval prompt), then times computing them all, oldest first —
what a re-run does and what the Celery worker does per new message. The first
message is timed apart: it loads the detectors' models (a worker pays it once).
Pinned to one core (``sched_setaffinity``) where the system allows it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    "the",
    "a",
    "garden",
    "river",
    "question",
    "answer",
    "explain",
    "history",
    "science",
    "music",
    "small",
    "large",
    "city",
    "people",
    "learn",
    "write",
    "simple",
    "because",
    "between",
    "before",
    "after",
    "often",
    "water",
    "light",
    "winter",
    "summer",
    "history",
    "language",
    "computer",
    "kitchen",
    "recipe",
    "bicycle",
    "mountain",
    "travel",
    "budget",
]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=800)
    parser.add_argument("--eval-prompts", type=int, default=200)
    parser.add_argument("--database", default="")
    parser.add_argument("--seed", type=int, default=3)
    arguments = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    database = arguments.database or tempfile.mktemp(prefix="quality-bench-", suffix=".sqlite3")
    os.environ["SQLITE_PATH"] = database
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from backend.common.events import MessageCreated, unsubscribe
    from backend.projects.services import project_create
    from backend.quality import subscribers
    from backend.quality.models import EvalPrompt, EvalSet, MessageQuality
    from backend.quality.services import message_quality_compute
    from backend.trees.models import Message, Tree, text_digest

    try:
        call_command("migrate", verbosity=0)
        # Measured here, not on commit: nothing is enqueued while the data is made.
        unsubscribe(MessageCreated, subscribers.on_message_written)
        rng = random.Random(arguments.seed)
        project = project_create(slug="quality-bench")
        eval_texts = [sentence(rng, rng.randint(12, 30)) for _ in range(arguments.eval_prompts)]
        eval_set = EvalSet.objects.create(
            project=project, name="bench", prompt_count=len(eval_texts)
        )
        EvalPrompt.objects.bulk_create(
            EvalPrompt(eval_set=eval_set, position=index, text=text)
            for index, text in enumerate(eval_texts)
        )
        prompts: list[str] = []
        ids: list[int] = []
        for index in range(arguments.messages // 2):
            text = sentence(rng, rng.randint(12, 40))
            if index % 10 == 3:
                text += f" Write to me at person{index}@example.com please."
            if index % 20 == 7 and prompts:
                text = rng.choice(prompts) + " Thanks."
            if index % 50 == 11:
                text = rng.choice(eval_texts)
            prompts.append(text)
            tree = Tree.objects.create(project=project, lang="en", state="growing")
            root = Message.objects.create(
                tree=tree, role="prompter", text=text, text_digest=text_digest(text), lang="en"
            )
            reply_text = " ".join(sentence(rng, rng.randint(10, 25)) for _ in range(4))
            reply = Message.objects.create(
                tree=tree,
                parent=root,
                depth=1,
                role="assistant",
                text=reply_text,
                text_digest=text_digest(reply_text),
                lang="en",
            )
            ids.extend([root.pk, reply.pk])

        started = time.perf_counter()
        message_quality_compute(message_id=ids[0])
        first = time.perf_counter() - started
        timings = []
        started = time.perf_counter()
        for message_id in ids[1:]:
            one = time.perf_counter()
            message_quality_compute(message_id=message_id)
            timings.append(time.perf_counter() - one)
        elapsed = time.perf_counter() - started
        flagged = MessageQuality.objects.exclude(flags=[]).count()
        timings.sort()
        print(f"messages: {len(ids)} ({len(ids) // 2} prompts, {len(ids) // 2} replies)")
        print(f"eval prompts: {len(eval_texts)}; flagged messages: {flagged}")
        print(f"first message (loads the models): {first:.1f} s")
        print(
            f"then: {len(timings) / elapsed:.1f} messages/s on one core; per message "
            f"median {statistics.median(timings) * 1000:.1f} ms, "
            f"p95 {timings[int(len(timings) * 0.95)] * 1000:.1f} ms"
        )
    finally:
        if not arguments.database:
            Path(database).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
