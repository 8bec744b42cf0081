"""The task flow's views call the same services as the API and draw their results."""

from __future__ import annotations

import pytest

from backend.assignments.models import (
    LABEL_KINDS,
    RANK_KINDS,
    Assignment,
    AssignmentState,
    LabelVote,
    RankingVote,
)
from backend.moderation.models import Report
from backend.trees.models import Message, Reaction
from tests.factories import (
    growing_tree,
    live_item,
    people,
    reserve,
    review,
    write_prompt,
    write_reply,
)
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def claim(web, project, kind="any", lang="en", **extra):
    return web.post("/task/claim", {"project": project.slug, "lang": lang, "kind": kind}, **extra)


def test_claiming_redirects_to_the_task_page_and_it_renders(web, volunteer, project):
    response = claim(web, project, "initial_prompt")
    assignment = Assignment.objects.get(user=volunteer)
    assert response.status_code == 302
    assert response["Location"] == f"/task/{assignment.pk}/"
    page = web.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="reply-text"' in body
    assert f'data-assignment="{assignment.pk}"' in body
    assert "0 / 2000" in body


def test_an_open_task_of_the_chosen_kind_is_resumed_not_claimed_again(web, volunteer, project):
    first = claim(web, project, "initial_prompt")
    second = claim(web, project, "initial_prompt")
    assert first["Location"] == second["Location"]
    assert Assignment.objects.filter(user=volunteer).count() == 1


def test_submitting_a_text_stores_it_and_swaps_in_the_next_task(web, volunteer, project):
    claim(web, project, "initial_prompt")
    assignment = Assignment.objects.get(user=volunteer)
    response = web.post(
        f"/task/{assignment.pk}/submit",
        {
            "text": "  How do magnets work?  ",
            "next_kind": "initial_prompt",
            "idempotency_key": "k1",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.SUBMITTED
    message = Message.objects.get(author=volunteer)
    assert message.text == "How do magnets work?"
    following = Assignment.objects.filter(user=volunteer, state=AssignmentState.ACTIVE).get()
    assert response["HX-Push-Url"] == f"/task/{following.pk}/"
    body = response.content.decode()
    assert "Thank you! Saved." in body
    assert "<html" not in body  # the panel alone


def test_a_retried_submit_with_the_same_key_stores_nothing_twice(web, volunteer, project):
    claim(web, project, "initial_prompt")
    assignment = Assignment.objects.get(user=volunteer)
    data = {
        "text": "What is a rainbow?",
        "idempotency_key": "same-key",
        "next_kind": "initial_prompt",
    }
    web.post(f"/task/{assignment.pk}/submit", data, **HTMX)
    again = web.post(f"/task/{assignment.pk}/submit", data, **HTMX)
    assert again.status_code == 200
    assert Message.objects.filter(author=volunteer).count() == 1


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("   ", "Write something first."),
        ("x" * 2001, "At most 2000 characters; this has 2001."),
        ("i", "Write at least 10 characters; this has 1."),
    ],
)
def test_a_refused_text_is_shown_next_to_the_field_and_kept(web, volunteer, project, text, error):
    claim(web, project, "initial_prompt")
    assignment = Assignment.objects.get(user=volunteer)
    response = web.post(f"/task/{assignment.pk}/submit", {"text": text}, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert error in body
    assert 'aria-invalid="true"' in body
    assert f">{text}</textarea>" in body
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.ACTIVE
    assert not Message.objects.exists()


def test_labels_from_the_form_become_votes(web, volunteer, project):
    author, _reviewer = people(2)
    root = write_prompt(project, author)
    assignment = reserve(volunteer, live_item(root, LABEL_KINDS))
    response = web.post(
        f"/task/{assignment.pk}/submit",
        {"label-spam": "0", "label-lang_mismatch": "1", "label-quality": "0.25", "label-pii": ""},
        **HTMX,
    )
    assert response.status_code == 200, response.content
    votes = dict(LabelVote.objects.filter(user=volunteer).values_list("label", "value"))
    assert votes == {"spam": 0.0, "lang_mismatch": 1.0, "quality": 0.25}


def test_a_missing_mandatory_label_is_shown_on_its_question(web, volunteer, project):
    author = people(1)[0]
    root = write_prompt(project, author)
    assignment = reserve(volunteer, live_item(root, LABEL_KINDS))
    response = web.post(f"/task/{assignment.pk}/submit", {"label-quality": "0.5"}, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    spam_row = body[body.index('id="label-spam"') : body.index('id="label-lang_mismatch"')]
    assert "Please answer this." in spam_row
    assert 'value="0.5" checked' in body  # the answers given are kept
    assert not LabelVote.objects.exists()


def test_a_ranking_from_the_form_becomes_a_vote(web, volunteer, project):
    author, writer, helper, reviewer = people(4)
    _tree, root = growing_tree(project, author, [reviewer])
    replies = [write_reply(root, writer), write_reply(root, helper)]
    for reply in replies:
        review(reply, [reviewer])
    assignment = reserve(volunteer, live_item(root, RANK_KINDS))
    order = [replies[1].pk, replies[0].pk]
    response = web.post(
        f"/task/{assignment.pk}/submit", {"ranking": f"{order[0]},{order[1]}"}, **HTMX
    )
    assert response.status_code == 200, response.content
    assert RankingVote.objects.get(user=volunteer).ranking == order


def test_a_bad_ranking_is_refused_and_the_order_kept(web, volunteer, project):
    author, writer, helper, reviewer = people(4)
    _tree, root = growing_tree(project, author, [reviewer])
    replies = [write_reply(root, writer), write_reply(root, helper)]
    for reply in replies:
        review(reply, [reviewer])
    assignment = reserve(volunteer, live_item(root, RANK_KINDS))
    response = web.post(f"/task/{assignment.pk}/submit", {"ranking": f"{replies[1].pk}"}, **HTMX)
    assert response.status_code == 422
    assert "Put every reply in the list exactly once." in response.content.decode()
    assert not RankingVote.objects.exists()


def test_skipping_records_the_reason_and_shows_the_next_task(web, volunteer, project):
    claim(web, project, "initial_prompt")
    assignment = Assignment.objects.get(user=volunteer)
    response = web.post(
        f"/task/{assignment.pk}/skip",
        {"reason": "language", "note": "not my topic", "next_kind": "initial_prompt"},
        **HTMX,
    )
    assert response.status_code == 200
    assignment.refresh_from_db()
    assert (assignment.state, assignment.skip_reason) == (
        AssignmentState.SKIPPED,
        "language: not my topic",
    )
    assert "Skipped." in response.content.decode()


def test_no_work_says_so_and_offers_another_kind(web, volunteer, project):
    response = claim(web, project, "rank_prompter_replies", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "No work of this kind right now" in body
    assert 'value="any"' in body
    assert response["HX-Push-Url"] == "/task/?project=web&lang=en&kind=rank_prompter_replies"


def test_no_work_without_htmx_redirects_to_a_page_that_survives_a_reload(web, project):
    response = claim(web, project, "rank_prompter_replies")

    assert response.status_code == 302
    assert response["Location"] == "/task/?project=web&lang=en&kind=rank_prompter_replies"
    for _ in range(2):  # the page, then a reload of it
        page = web.get(response["Location"])
        assert page.status_code == 200
        assert "No work of this kind right now" in page.content.decode()


def test_a_refusal_survives_the_redirect_once(web, volunteer, project):
    project.max_open_assignments = 1
    project.save(update_fields=["max_open_assignments"])
    claim(web, project, "initial_prompt")

    response = claim(web, project, "rank_prompter_replies")
    first = web.get(response["Location"]).content.decode()
    again = web.get(response["Location"]).content.decode()

    assert response.status_code == 302
    assert "Not now" in first and "You hold the most open tasks allowed" in first
    assert "Not now" not in again


def test_the_claim_address_answers_a_get_with_a_redirect_not_405(web, project):
    bare = web.get("/task/claim")
    with_choice = web.get("/task/claim?project=web&lang=en&kind=any")

    assert (bare.status_code, bare["Location"]) == (302, "/dashboard/")
    assert (with_choice.status_code, with_choice["Location"]) == (
        302,
        "/task/?project=web&lang=en&kind=any",
    )


def test_someone_elses_task_is_not_found(web, project):
    other = people(1)[0]
    from backend.assignments.services import assignment_claim_next

    assignment = assignment_claim_next(
        user=other, project=project, lang="en", kind="initial_prompt"
    )
    assert web.get(f"/task/{assignment.pk}/").status_code == 404
    assert web.post(f"/task/{assignment.pk}/submit", {"text": "mine now"}).status_code == 404
    assert web.post(f"/task/{assignment.pk}/skip", {}).status_code == 404
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.ACTIVE


def test_conversation_markdown_is_rendered_and_sanitised(web, volunteer, project):
    author, _reviewer = people(2)
    root = write_prompt(
        project,
        author,
        "Look: **bold** <script>alert(1)</script> <b onclick=x>hi</b>\n\n```\nx < y\n```",
    )
    reserve(volunteer, live_item(root, LABEL_KINDS))
    assignment = Assignment.objects.get(user=volunteer)
    body = web.get(f"/task/{assignment.pk}/").content.decode()
    assert "<strong>bold</strong>" in body
    assert "<script>alert" not in body
    assert "onclick" not in body
    assert "<pre><code>x &lt; y\n</code></pre>" in body


def test_reactions_and_reports_go_through_the_services(web, volunteer, project):
    author = people(1)[0]
    root = write_prompt(project, author)
    response = web.post(f"/messages/{root.pk}/react", {"emoji": "red_flag"}, **HTMX)
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()
    assert Reaction.objects.filter(user=volunteer, message=root, emoji="red_flag").exists()
    assert web.post(f"/messages/{root.pk}/react", {"emoji": "heart"}, **HTMX).status_code == 422

    sent = web.post(f"/messages/{root.pk}/report", {"reason": "spam", "text": "an ad"}, **HTMX)
    assert sent.status_code == 200
    assert "A moderator will look at it" in sent.content.decode()
    again = web.post(f"/messages/{root.pk}/report", {"reason": "spam"}, **HTMX)
    assert again.status_code == 409
    assert "You reported this message already." in again.content.decode()
    assert Report.objects.filter(reporter=volunteer).count() == 1
    assert web.post("/messages/999999/report", {"reason": "spam"}).status_code == 404
