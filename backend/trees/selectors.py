from __future__ import annotations

from django.db.models import Count, QuerySet

from backend.accounts.models import User
from backend.common.permissions import has_role
from backend.trees.models import Message, Tree


def can_see_authors(user: User) -> bool:
    """Authors are hidden from volunteers; moderators, researchers and admins see them."""
    if user.is_staff:
        return True
    return user.groups.filter(name__in=["moderator", "researcher"]).exists()


def can_see_deleted_text(user: User) -> bool:
    """The text of a deleted message (and of the subtree its deletion hid) is for
    moderators and admins, who may undo the deletion; everyone else sees that the
    message is there and deleted, as the web tree viewer shows it, not what it said."""
    return has_role(user, "moderator")


def tree_with_messages(*, tree_id: int) -> tuple[Tree, QuerySet[Message]] | None:
    tree = Tree.objects.select_related("project").filter(pk=tree_id).first()
    if tree is None:
        return None
    return tree, Message.objects.filter(tree=tree).order_by("depth", "pk")


def tree_state_counts(*, project_id: int) -> dict[str, int]:
    rows = Tree.objects.filter(project_id=project_id).values("state").annotate(count=Count("pk"))
    return {row["state"]: row["count"] for row in rows}
