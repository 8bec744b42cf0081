"""Who is offered what: exclusions, per-person limits, expiry, skip and kind weights.

Claims go through ``POST /api/v1/assignments/`` so the status codes and error codes
are the ones clients see; trees are set up with the service-level drivers.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from backend.assignments.models import (
    LABEL_KINDS,
    RANK_KINDS,
    REPLY_KINDS,
    Assignment,
    Kind,
    WorkItem,
)
from backend.assignments.registry import kind_names
from backend.assignments.services import (
    assignment_claim_next,
    assignments_expire_overdue,
    kinds_in_weighted_order,
)
from backend.projects.models import default_kind_weights
from tests.factories import (
    claim as claim_service,
)
from tests.factories import (
    growing_tree,
    live_item,
    people,
    review,
    small_project,
    snapshot,
    write_prompt,
    write_reply,
)
from tests.helpers import answer_for, claim, submit

pytestmark = pytest.mark.django_db

NO_NEW_PROMPTS = {kind: 1 for kind in Kind.values} | {"initial_prompt": 0}


def offered(client: Any, project: Any, kind: str = "any") -> dict[str, Any] | None:
    """The assignment offered (201), or None when there is no work (204)."""
    response = claim(client, project.slug, kind)
    assert response.status_code in (201, 204), response.content
    return response.json() if response.status_code == 201 else None


def assert_refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    return body


def ranking_tree(project: Any) -> dict[str, Any]:
    author, reviewer, writer_a, writer_b, outsider = people(5)
    tree, root = growing_tree(project, author, [reviewer])
    a, b = write_reply(root, writer_a), write_reply(root, writer_b)
    review(a, [reviewer])
    review(b, [reviewer])
    return {
        "tree": tree,
        "root": root,
        "a": a,
        "b": b,
        "author": author,
        "reviewer": reviewer,
        "writer_a": writer_a,
        "writer_b": writer_b,
        "outsider": outsider,
    }


# --- Never one's own message ----------------------------------------------------------


def test_nobody_reviews_their_own_prompt(client_for):
    project = small_project(assignment_weights=NO_NEW_PROMPTS)
    author, other = people(2)
    root = write_prompt(project, author)

    assert offered(client_for(author), project, "label_initial_prompt") is None
    assert offered(client_for(author), project, "any") is None
    taken = offered(client_for(other), project, "label_initial_prompt")
    assert taken["conversation"] == [{"id": root.pk, "role": "prompter", "text": root.text}]


def test_nobody_reviews_their_own_reply_or_replies_to_their_own_message(client_for):
    project = small_project(goal_tree_size=4, max_depth=2, max_children=1)
    author, reviewer, writer, other = people(4)
    _tree, root = growing_tree(project, author, [reviewer])

    # The prompt's author may not answer their own prompt.
    assert offered(client_for(author), project, "assistant_reply") is None
    reply = write_reply(root, writer)

    assert offered(client_for(writer), project, "label_assistant_reply") is None
    review_assignment = offered(client_for(reviewer), project, "label_assistant_reply")
    assert review_assignment["conversation"][-1]["id"] == reply.pk
    assert (
        submit(
            client_for(reviewer), review_assignment["id"], answer_for(review_assignment)
        ).status_code
        == 200
    )
    # Accepted, the reply wants a prompter reply, which its own author is not offered.
    assert live_item(reply, REPLY_KINDS).kind == "prompter_reply"
    assert offered(client_for(writer), project, "prompter_reply") is None
    assert (
        offered(client_for(other), project, "prompter_reply")["conversation"][-1]["id"] == reply.pk
    )


def test_no_ranking_group_holding_ones_reply_is_offered(client_for):
    project = small_project(num_required_rankings=3)
    built = ranking_tree(project)

    assert offered(client_for(built["writer_a"]), project, "rank_assistant_replies") is None
    assert offered(client_for(built["writer_b"]), project, "rank_assistant_replies") is None
    # Everyone who wrote no candidate may rank, the prompt's author too.
    for person in ("outsider", "author", "reviewer"):
        taken = offered(client_for(built[person]), project, "rank_assistant_replies")
        assert sorted(candidate["id"] for candidate in taken["candidates"]) == [
            built["a"].pk,
            built["b"].pk,
        ]
    item = live_item(built["root"], RANK_KINDS)
    assert (item.required, item.open_slots) == (3, 0)


# --- Never the same item twice --------------------------------------------------------


def test_an_item_already_done_is_not_offered_again(client_for):
    project = small_project(num_reviews_initial_prompt=3)
    author, reviewer, other = people(3)
    root = write_prompt(project, author)
    client = client_for(reviewer)
    first = offered(client, project, "label_initial_prompt")
    assert submit(client, first["id"], answer_for(first)).status_code == 200

    assert offered(client, project, "label_initial_prompt") is None
    assert offered(client_for(other), project, "label_initial_prompt") is not None
    item = live_item(root, LABEL_KINDS)
    assert (item.completed_count, item.open_slots) == (1, 1)


def test_an_item_currently_held_is_not_offered_again(client_for):
    project = small_project(num_reviews_initial_prompt=3, assignment_weights=NO_NEW_PROMPTS)
    author, reviewer, other = people(3)
    root = write_prompt(project, author)
    client = client_for(reviewer)

    held = offered(client, project, "label_initial_prompt")
    assert held is not None
    assert offered(client, project, "label_initial_prompt") is None
    assert offered(client, project, "any") is None
    assert offered(client_for(other), project, "label_initial_prompt") is not None
    assert live_item(root, LABEL_KINDS).open_slots == 1


def test_a_skipped_item_is_not_offered_to_that_person_but_to_others(client_for):
    project = small_project()
    author, skipper, other = people(3)
    root = write_prompt(project, author)
    client = client_for(skipper)
    held = offered(client, project, "label_initial_prompt")
    assert live_item(root, LABEL_KINDS).open_slots == 0

    response = client.post(
        f"/api/v1/assignments/{held['id']}/skip", {"reason": "unsure"}, format="json"
    )

    assert response.status_code == 200 and response.json()["state"] == "skipped"
    assert live_item(root, LABEL_KINDS).open_slots == 1
    assert offered(client, project, "label_initial_prompt") is None
    taken = offered(client_for(other), project, "label_initial_prompt")
    assert taken["conversation"][0]["id"] == root.pk


def test_a_skipped_item_stays_excluded_after_the_slot_was_used_and_returned(client_for):
    project = small_project()
    author, skipper, other = people(3)
    write_prompt(project, author)
    client = client_for(skipper)
    held = offered(client, project, "label_initial_prompt")
    client.post(f"/api/v1/assignments/{held['id']}/skip", {}, format="json")
    taken = offered(client_for(other), project, "label_initial_prompt")
    client_for(other).post(f"/api/v1/assignments/{taken['id']}/skip", {}, format="json")

    assert offered(client, project, "label_initial_prompt") is None


# --- Per-person limits ----------------------------------------------------------------


def test_the_open_assignment_cap_is_409_and_takes_nothing(client_for):
    project = small_project(max_open_assignments=2, num_reviews_initial_prompt=1)
    reviewer = people(1)[0]
    for author in people(3):
        write_prompt(project, author)
    client = client_for(reviewer)
    assert offered(client, project, "label_initial_prompt") is not None
    assert offered(client, project, "label_initial_prompt") is not None
    before = snapshot()

    assert_refused(
        claim(client, project.slug, "label_initial_prompt"), 409, "open_assignment_limit"
    )
    assert_refused(claim(client, project.slug, "initial_prompt"), 409, "open_assignment_limit")

    assert snapshot() == before
    assert WorkItem.objects.filter(open_slots=1).count() == 1


def test_reservations_past_their_time_do_not_count_toward_the_cap(client_for):
    project = small_project(max_open_assignments=1)
    reviewer = people(1)[0]
    for author in people(2):
        write_prompt(project, author)
    client = client_for(reviewer)
    first = offered(client, project, "label_initial_prompt")
    assert_refused(
        claim(client, project.slug, "label_initial_prompt"), 409, "open_assignment_limit"
    )

    Assignment.objects.filter(pk=first["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert offered(client, project, "label_initial_prompt") is not None


def test_finishing_an_assignment_frees_a_place_under_the_cap(client_for):
    project = small_project(max_open_assignments=1)
    reviewer = people(1)[0]
    for author in people(2):
        write_prompt(project, author)
    client = client_for(reviewer)
    first = offered(client, project, "label_initial_prompt")
    assert submit(client, first["id"], answer_for(first)).status_code == 200

    assert offered(client, project, "label_initial_prompt") is not None


def test_requests_per_minute_is_429_with_retry_after(client_for):
    project = small_project(requests_per_minute=2, max_open_assignments=10)
    volunteer = people(1)[0]
    client = client_for(volunteer)
    assert offered(client, project, "initial_prompt") is not None
    assert offered(client, project, "initial_prompt") is not None
    before = snapshot()

    response = claim(client, project.slug, "initial_prompt")

    body = assert_refused(response, 429, "rate_limited")
    assert response["Retry-After"] == "60" and body["retry_after"] == 60
    assert snapshot() == before
    # Another person is not limited by it.
    assert offered(client_for(people(1)[0]), project, "initial_prompt") is not None
    # A minute later the person may ask again.
    Assignment.objects.filter(user=volunteer).update(
        created_at=timezone.now() - timedelta(seconds=61)
    )
    assert offered(client, project, "initial_prompt") is not None


def test_replies_per_minute_is_429_and_stores_nothing(client_for):
    project = small_project(replies_per_minute=2)
    writer = people(1)[0]
    client = client_for(writer)
    for text in ("The first prompt of the minute.", "The second prompt of the minute."):
        assignment = offered(client, project, "initial_prompt")
        assert submit(client, assignment["id"], {"text": text}).status_code == 200
    third = offered(client, project, "initial_prompt")
    before = snapshot()

    response = submit(client, third["id"], {"text": "The third prompt of the minute."})

    assert_refused(response, 429, "rate_limited")
    assert response["Retry-After"] == "60"
    assert snapshot() == before
    assert Assignment.objects.get(pk=third["id"]).state == "active"
    # Reviews are not messages: the limit does not stop labelling.
    other_prompt = write_prompt(project, people(1)[0])
    review_assignment = offered(client, project, "label_initial_prompt")
    assert review_assignment["conversation"][0]["id"] == other_prompt.pk
    assert submit(client, review_assignment["id"], answer_for(review_assignment)).status_code == 200


# --- Expiry returns work to the pool --------------------------------------------------


def test_an_expired_reservation_goes_back_to_the_pool_and_its_late_submit_is_409(client_for):
    project = small_project()
    author, late, other = people(3)
    root = write_prompt(project, author)
    late_client = client_for(late)
    held = offered(late_client, project, "label_initial_prompt")
    assert offered(client_for(other), project, "label_initial_prompt") is None
    Assignment.objects.filter(pk=held["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert assignments_expire_overdue() == 1

    taken = offered(client_for(other), project, "label_initial_prompt")
    assert taken["conversation"][0]["id"] == root.pk
    before = snapshot()
    response = submit(late_client, held["id"], answer_for(held))
    assert_refused(response, 409, "assignment_expired")
    assert snapshot() == before
    assert Assignment.objects.get(pk=held["id"]).state == "expired"
    assert submit(client_for(other), taken["id"], answer_for(taken)).status_code == 200


def test_a_late_submit_is_honoured_while_a_slot_is_free(client_for):
    project = small_project(num_reviews_initial_prompt=2)
    author, late = people(2)
    root = write_prompt(project, author)
    late_client = client_for(late)
    held = offered(late_client, project, "label_initial_prompt")
    Assignment.objects.filter(pk=held["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert assignments_expire_overdue() == 1
    assert live_item(root, LABEL_KINDS).open_slots == 2

    response = submit(late_client, held["id"], answer_for(held))

    assert response.status_code == 200, response.content
    assert response.json()["assignment"]["state"] == "submitted"
    item = live_item(root, LABEL_KINDS)
    assert (item.completed_count, item.open_slots) == (1, 1)
    root.refresh_from_db()
    assert root.review_count == 1


def test_a_late_prompt_is_honoured(client_for):
    project = small_project()
    writer = people(1)[0]
    client = client_for(writer)
    held = offered(client, project, "initial_prompt")
    Assignment.objects.filter(pk=held["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert assignments_expire_overdue() == 1

    response = submit(client, held["id"], {"text": "A late but welcome prompt."})

    assert response.status_code == 200, response.content
    assert response.json()["message"]["text"] == "A late but welcome prompt."


# --- kind "any" and the weights -------------------------------------------------------


def test_any_only_offers_kinds_that_have_work(client_for):
    project = small_project(assignment_weights=NO_NEW_PROMPTS)
    authors = people(3)
    roots = [write_prompt(project, author) for author in authors]
    reviewer = people(1)[0]
    client = client_for(reviewer)

    kinds = [offered(client, project, "any")["kind"] for _ in roots]

    assert kinds == ["label_initial_prompt"] * 3
    assert offered(client, project, "any") is None


def test_any_offers_a_new_prompt_when_nothing_else_has_work(client_for):
    project = small_project()
    assert offered(client_for(people(1)[0]), project, "any")["kind"] == "initial_prompt"


def test_a_kind_with_weight_zero_is_never_offered_by_any(client_for):
    project = small_project(
        assignment_weights={kind: 1 for kind in Kind.values} | {"label_initial_prompt": 0}
    )
    write_prompt(project, people(1)[0])
    clients = [client_for(user) for user in people(5)]

    kinds = {offered(client, project, "any")["kind"] for client in clients}

    assert kinds == {"initial_prompt"}
    assert live_item(project_root(project), LABEL_KINDS).open_slots == 1
    # Asked for by name, the kind is still available.
    assert offered(clients[0], project, "label_initial_prompt") is not None


def test_all_weights_zero_means_any_offers_nothing(client_for):
    project = small_project(assignment_weights={kind: 0 for kind in Kind.values})
    write_prompt(project, people(1)[0])

    assert offered(client_for(people(1)[0]), project, "any") is None


def project_root(project: Any) -> Any:
    return WorkItem.objects.get(project=project, kind="label_initial_prompt").target


def test_any_honours_the_weights_between_kinds_with_work():
    project = small_project(
        assignment_weights={kind: 0 for kind in Kind.values}
        | {"initial_prompt": 1, "label_initial_prompt": 3}
    )
    write_prompt(project, people(1)[0])
    reviewer = people(1)[0]

    kinds: Counter[str] = Counter()
    for seed in range(200):
        with transaction.atomic():
            assignment = assignment_claim_next(
                user=reviewer, project=project, lang="en", kind="any", rng=random.Random(seed)
            )
            kinds[assignment.kind] += 1
            transaction.set_rollback(True)  # the same person, fresh each time

    # Efraimidis–Spirakis: the first kind is drawn with probability weight / total.
    assert set(kinds) == {"initial_prompt", "label_initial_prompt"}
    assert 0.65 <= kinds["label_initial_prompt"] / 200 <= 0.85


def test_weighted_kind_order_draws_first_kinds_in_proportion_to_weight():
    drawn = {"initial_prompt": 1.0, "assistant_reply": 2.0, "label_assistant_reply": 5.0}
    weights = {kind: 0.0 for kind in kind_names()} | drawn
    rng = random.Random(1234)
    firsts: Counter[str] = Counter()
    for _ in range(8000):
        order = kinds_in_weighted_order(weights, rng)
        assert sorted(order) == sorted(drawn)
        firsts[order[0]] += 1

    for kind, weight in drawn.items():
        assert abs(firsts[kind] / 8000 - weight / 8) < 0.02, (kind, firsts)


def test_weighted_kind_order_leaves_out_zero_weights_and_defaults_missing_ones():
    weights = default_kind_weights() | {"rank_assistant_replies": 0, "rank_prompter_replies": -1}
    del weights["prompter_reply"]  # not weighed by the project: its kind's default weight

    order = kinds_in_weighted_order(weights, random.Random(7))

    assert sorted(order) == sorted(
        kind
        for kind in kind_names()  # every registered kind (the arena's too)
        if kind not in {"rank_assistant_replies", "rank_prompter_replies"}
    )


def test_any_and_named_kinds_respect_the_same_exclusions(client_for):
    project = small_project(assignment_weights=NO_NEW_PROMPTS)
    built = ranking_tree(project)

    for writer in (built["writer_a"], built["writer_b"]):
        assert offered(client_for(writer), project, "any") is None
    assert (
        offered(client_for(built["outsider"]), project, "any")["kind"] == "rank_assistant_replies"
    )


def test_reply_kinds_are_offered_per_parent_role(client_for):
    project = small_project(goal_tree_size=3, max_depth=2, max_children=1)
    author, reviewer, writer, other = people(4)
    _tree, root = growing_tree(project, author, [reviewer])
    assert offered(client_for(other), project, "prompter_reply") is None
    assistant = offered(client_for(writer), project, "assistant_reply")
    assert assistant["conversation"] == [{"id": root.pk, "role": "prompter", "text": root.text}]
    assert claim_service(other, project, "assistant_reply") is None  # its one slot is held


def test_new_prompts_stop_while_too_many_wait_for_review_or_the_lottery(client_for):
    project = small_project(max_prompt_lottery_waiting=2, assignment_weights=NO_NEW_PROMPTS)
    first, second = (write_prompt(project, author) for author in people(2))
    writer = client_for(people(1)[0])

    assert offered(writer, project, "initial_prompt") is None
    review(first, people(1))  # accepted: waits in the backlog, still counted
    assert offered(writer, project, "initial_prompt") is None
    review(second, people(1), [{"spam": 1}])  # rejected: no longer waiting
    assert offered(writer, project, "initial_prompt")["kind"] == "initial_prompt"


def test_an_expired_reservation_taken_again_by_its_owner_is_stored_once(client_for):
    project = small_project(num_reviews_initial_prompt=2)
    author, reviewer = people(2)
    root = write_prompt(project, author)
    client = client_for(reviewer)
    old = offered(client, project, "label_initial_prompt")
    Assignment.objects.filter(pk=old["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert assignments_expire_overdue() == 1
    # Expiry does not bar the person: the same item is offered to them again.
    new = offered(client, project, "label_initial_prompt")
    assert new["conversation"][0]["id"] == root.pk
    before = snapshot()

    response = submit(client, old["id"], answer_for(old))

    assert_refused(response, 409, "assignment_expired")
    assert snapshot() == before
    assert submit(client, new["id"], answer_for(new)).status_code == 200
    item = live_item(root, LABEL_KINDS)
    assert (item.completed_count, item.open_slots) == (1, 1)
