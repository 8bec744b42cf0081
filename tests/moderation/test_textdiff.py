from __future__ import annotations

from backend.moderation.textdiff import word_diff


def test_a_changed_word_is_one_deletion_and_one_insertion():
    assert word_diff("How do magnets works?", "How do magnets work?") == [
        ("equal", "How do magnets "),
        ("delete", "works?"),
        ("insert", "work?"),
    ]


def test_the_pieces_give_both_texts_back():
    old, new = "one two  three\nfour", "zero one three\nfour five"
    pieces = word_diff(old, new)
    assert "".join(text for op, text in pieces if op != "insert") == old
    assert "".join(text for op, text in pieces if op != "delete") == new


def test_equal_and_empty_texts():
    assert word_diff("same text", "same text") == [("equal", "same text")]
    assert word_diff("", "new") == [("insert", "new")]
    assert word_diff("old", "") == [("delete", "old")]
