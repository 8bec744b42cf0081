"""Hand-built trees with known ranks, votes and dates, straight through the ORM.

The exports read what the lifecycle wrote; building the rows directly lets a test state
every field (rank, review result, deletion, creation time) and expect exact JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.accounts.models import User
from backend.assignments.models import LabelVote, RankingVote
from backend.projects.models import Project
from backend.trees.models import Message, Reaction, Tree, TreeState, text_digest

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_tree(
    project: Project,
    *,
    state: str = TreeState.READY_FOR_EXPORT,
    lang: str = "en",
    created: datetime = T0,
    origin_id: str = "",
) -> Tree:
    tree = Tree.objects.create(project=project, lang=lang, state=state, origin_id=origin_id)
    Tree.objects.filter(pk=tree.pk).update(created_at=created)
    tree.created_at = created
    return tree


def make_message(
    tree: Tree,
    parent: Message | None,
    text: str,
    *,
    author: User | None = None,
    created: datetime = T0,
    rank: int | None = None,
    review_result: bool | None = True,
    review_count: int = 3,
    deleted: bool = False,
    synthetic: bool = False,
    model_name: str = "",
    origin_id: str = "",
) -> Message:
    if parent is None:
        role = "prompter"
    else:
        role = "assistant" if parent.role == "prompter" else "prompter"
    message = Message.objects.create(
        tree=tree,
        parent=parent,
        depth=0 if parent is None else parent.depth + 1,
        role=role,
        text=text,
        text_digest=text_digest(text),
        lang=tree.lang,
        author=author,
        synthetic=synthetic,
        model_name=model_name,
        review_count=review_count,
        review_result=review_result,
        rank=rank,
        is_deleted=deleted,
        origin_id=origin_id,
    )
    Message.objects.filter(pk=message.pk).update(created_at=created)
    message.created_at = created
    if parent is None:
        tree.root = message
        tree.save(update_fields=["root"])
    return message


def label(message: Message, user: User, name: str, value: float, created: datetime = T0) -> None:
    vote = LabelVote.objects.create(message=message, user=user, label=name, value=value)
    LabelVote.objects.filter(pk=vote.pk).update(created_at=created)


def rank(parent: Message, user: User, order: list[Message], created: datetime = T0) -> None:
    vote = RankingVote.objects.create(
        parent=parent, user=user, ranking=[message.pk for message in order]
    )
    RankingVote.objects.filter(pk=vote.pk).update(created_at=created)


def react(message: Message, user: User, emoji: str, created: datetime = T0) -> None:
    reaction = Reaction.objects.create(message=message, user=user, emoji=emoji)
    Reaction.objects.filter(pk=reaction.pk).update(created_at=created)


@dataclass
class SmallWorld:
    """One finished tree::

        m1 prompter "What is 2+2?"            (alice)
        ├── m2 assistant "4"        rank 0    (bob)     labels, two 👍
        │   └── m5 prompter "Why?"            (alice)
        │       └── m6 assistant "Because."   (bob)
        ├── m3 assistant "5"        rank 1    (carol)   one red flag
        └── m4 assistant "22"       rank 2    (dave)

    erin ranked m2 > m3 > m4, frank m2 > m4 > m3; on m2 erin voted spam 0, quality 1
    and frank spam 0, quality 0.5.
    """

    project: Project
    tree: Tree
    users: dict[str, User]
    messages: dict[str, Message] = field(default_factory=dict)

    def pk(self, name: str) -> str:
        return str(self.messages[name].pk)


def build_small_world(project: Project, make_user: Any) -> SmallWorld:
    users = {
        name: make_user(username=name)
        for name in ("alice", "bob", "carol", "dave", "erin", "frank")
    }
    tree = make_tree(project)
    world = SmallWorld(project=project, tree=tree, users=users)
    m = world.messages
    m["m1"] = make_message(tree, None, "What is 2+2?", author=users["alice"], created=at(0))
    m["m2"] = make_message(tree, m["m1"], "4", author=users["bob"], created=at(1), rank=0)
    m["m3"] = make_message(tree, m["m1"], "5", author=users["carol"], created=at(2), rank=1)
    m["m4"] = make_message(tree, m["m1"], "22", author=users["dave"], created=at(3), rank=2)
    m["m5"] = make_message(tree, m["m2"], "Why?", author=users["alice"], created=at(4))
    m["m6"] = make_message(tree, m["m5"], "Because.", author=users["bob"], created=at(5))
    rank(m["m1"], users["erin"], [m["m2"], m["m3"], m["m4"]], created=at(10))
    rank(m["m1"], users["frank"], [m["m2"], m["m4"], m["m3"]], created=at(11))
    label(m["m2"], users["erin"], "spam", 0.0, created=at(6))
    label(m["m2"], users["erin"], "quality", 1.0, created=at(6))
    label(m["m2"], users["frank"], "spam", 0.0, created=at(7))
    label(m["m2"], users["frank"], "quality", 0.5, created=at(7))
    react(m["m2"], users["erin"], "+1", created=at(8))
    react(m["m2"], users["frank"], "+1", created=at(9))
    react(m["m3"], users["frank"], "red_flag", created=at(9))
    return world
