from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_home_lists_active_projects_and_links(client, make_project):
    make_project(slug="visible")
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "visible" in body
    assert 'href="/api/docs/"' in body
    assert 'href="/accounts/login/"' in body
