"""Content hashes and tree inclusion (``backend.exports.content``), pure."""

from __future__ import annotations

from backend.exports.content import content_hash, path_hashes, tree_within

TREE = [
    ("a", None, "prompter", "Hello  there"),
    ("b", "a", "assistant", "Hi!"),
    ("c", "a", "assistant", "Hello."),
    ("d", "b", "prompter", "How are you?"),
]


def test_ids_order_and_whitespace_do_not_change_the_hash():
    renamed = [
        ("x", None, "prompter", " Hello there "),
        ("z", "x", "assistant", "Hello."),
        ("y", "x", "assistant", "Hi!"),
        ("w", "y", "prompter", "How are you?"),
    ]
    assert content_hash(path_hashes(TREE)) == content_hash(path_hashes(renamed))


def test_place_role_and_text_change_the_hash():
    moved = [*TREE[:3], ("d", "c", "prompter", "How are you?")]
    other_role = [*TREE[:3], ("d", "b", "assistant", "How are you?")]
    hashes = {content_hash(path_hashes(tree)) for tree in (TREE, moved, other_role)}
    assert len(hashes) == 3


def test_a_part_of_a_tree_is_within_it():
    assert path_hashes(TREE[:2]) <= path_hashes(TREE)
    assert tree_within(TREE[:2], TREE)
    assert not tree_within([*TREE[:1], ("q", "a", "assistant", "Bye")], TREE)


def test_a_mask_stands_for_some_text():
    here = [("1", None, "prompter", "Mail me at jane@example.com today"), *TREE[1:2]]
    here[1] = ("b", "1", "assistant", "Hi!")
    assert tree_within([("k", None, "prompter", "Mail me at [EMAIL] today")], here)
    assert not tree_within([("k", None, "prompter", "Write me at [EMAIL] today")], here)
    assert not tree_within([("k", None, "prompter", "Mail me at [EMAIL]today!")], here)
    assert tree_within(
        [("k", None, "prompter", "Mail me at [EMAIL] today"), ("m", "k", "assistant", "Hi!")],
        here,
    )
