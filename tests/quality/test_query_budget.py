"""The tree endpoint batch-loads ``quality``: one statement for all its messages."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.quality.services import message_quality_compute
from tests.factories import growing_tree, people, write_reply


def statements(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.json(), len(queries.captured_queries)


def test_the_tree_endpoint_reads_quality_in_one_statement(client_for, make_user, project):
    author, reviewer, *repliers = people(4)
    tree, root = growing_tree(project, author, [reviewer])
    replies = [write_reply(root, replier) for replier in repliers]
    for message in (root, *replies):
        message_quality_compute(message_id=message.pk)
    url = f"/api/v1/trees/{tree.pk}"
    moderator = client_for(make_user("moderator"))
    volunteer = client_for(make_user("volunteer"))

    with_quality, moderator_count = statements(moderator, url)
    without, volunteer_count = statements(volunteer, url)

    assert len(with_quality["messages"]) == 3
    assert [message["quality"]["flags"] for message in with_quality["messages"]] == [[], [], []]
    assert all("quality" not in message for message in without["messages"])
    assert moderator_count == volunteer_count + 1
