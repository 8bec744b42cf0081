"""The project stats page: progress, agreement per label and task kind, per ranking
task kind, and over time — the figures of the API's stats and agreement history."""

from __future__ import annotations

import re

import pytest

from backend.consensus.services import project_rescore
from tests.consensus.builders import Ballot, Vote, moment, ready_tree, store_ballots, store_votes
from tests.factories import people, small_project

pytestmark = pytest.mark.django_db

# alpha, level, pairwise agreement, messages, votes
SPAM = ["0.444", "nominal", "0.667", "3", "6"]
# alpha, pairwise agreement, Kendall's W, reply pairs, judgements
RANKINGS = ["0.000", "0.667", "0.750", "3", "6"]


def texts(row: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def table(page: str, marker: str) -> list[tuple[str, list[str]]]:
    """The body rows of the table marked ``marker``: (their attributes, their cells)."""
    found = re.search(rf"<table [^>]*{marker}>(.*?)</table>", page, re.S)
    assert found is not None, marker
    return [
        (attributes.strip(), texts(row))
        for attributes, row in re.findall(r"<tr([^>]*)>(.*?)</tr>", found.group(1), re.S)
        if "<td" in row
    ]


def test_the_page_shows_agreement_per_label_task_kind_and_over_time(web):
    """Two people label three assistant replies ``spam`` — yes/yes, no/no, yes/no — and
    rank one group of three: a > b > c and a > c > b.

    Labels, nominal alpha from the coincidence matrix: o(1,1) = o(0,0) = 2, o(1,0) =
    o(0,1) = 1, n = 6 with three of each value: D_o = 2/6, D_e = 2·3·3 / (6·5) = 0.6,
    alpha = 1 − (1/3)/0.6 = 4/9; pairwise agreement 2 of 3 pairs.
    Rankings, alpha over reply pairs: (a, b) and (a, c) agreed, (b, c) split: five
    verdicts one way, one the other: D_o = 2/6 = D_e = 2·5·1 / (6·5), alpha = 0; pairwise
    2/3; Kendall's W: rank sums 2, 5, 5, S = 6, W = 12·6 / (2²·(3³ − 3)) = 0.75.
    """
    project = small_project()
    author, first, second = people(3)
    group = ready_tree(project, author, 3)
    a, b, c = group.replies
    store_ballots(
        [
            Ballot(group, first, [a.pk, b.pk, c.pk], [a.pk, b.pk, c.pk], moment(1)),
            Ballot(group, second, [a.pk, c.pk, b.pk], [c.pk, a.pk, b.pk], moment(2)),
        ]
    )
    store_votes(
        [
            Vote(a, first, "spam", 1.0, moment(3)),
            Vote(a, second, "spam", 1.0, moment(4)),
            Vote(b, first, "spam", 0.0, moment(5)),
            Vote(b, second, "spam", 0.0, moment(6)),
        ]
    )
    project_rescore(project_id=project.pk)  # agreement on a and b only: perfect
    store_votes([Vote(c, first, "spam", 1.0, moment(7)), Vote(c, second, "spam", 0.0, moment(8))])
    project_rescore(project_id=project.pk)

    response = web.get(f"/projects/{project.slug}/stats/")

    assert response.status_code == 200
    page = response.content.decode()
    assert table(page, "data-agreement-labels") == [
        ('data-label="spam" data-scope="all"', ["Spam", "All task kinds", *SPAM]),
        (
            'data-label="spam" data-scope="label_assistant_reply"',
            ["Spam", "Review an assistant reply", *SPAM],
        ),
    ]
    assert table(page, "data-agreement-rankings") == [
        ('data-scope="all"', ["All task kinds", *RANKINGS]),
        ('data-scope="rank_assistant_replies"', ["Rank assistant replies", *RANKINGS]),
    ]
    progress = re.search(r"<dl class=\"stats\" data-progress>(.*?)</dl>", page, re.S)
    assert progress is not None
    figures = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", progress.group(1))
    assert figures[:2] == [("Finished trees", "1"), ("Messages", "4")]
    assert '<th scope="col" class="num">Spam</th>' in page  # a column over time
    # Newest first: the time, spam's alpha, the rankings' alpha and Kendall's W.
    assert [cells[1:] for _, cells in table(page, "data-agreement-history")] == [
        ["0.444", "0.000", "0.750"],
        ["1.000", "0.000", "0.750"],  # before the split votes on c
    ]


def test_before_the_first_rescore_the_page_says_so_and_links_from_the_tree_list(web):
    project = small_project()
    page = web.get(f"/projects/{project.slug}/stats/").content.decode()
    assert "data-no-agreement" in page
    assert "data-agreement-labels" not in page
    assert web.get("/projects/no-such-project/stats/").status_code == 404
    listing = web.get(f"/trees/?project={project.slug}").content.decode()
    assert f'href="/projects/{project.slug}/stats/"' in listing


def test_signing_in_is_needed(client):
    project = small_project()
    response = client.get(f"/projects/{project.slug}/stats/")
    assert response.status_code == 302 and "login" in response["Location"]
