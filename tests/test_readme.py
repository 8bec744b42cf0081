"""The README's API example works when pasted: its shell block is run as written
(only the token and the server's address filled in) against a running server, so the
example cannot rot."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from backend.accounts.services import user_token
from backend.projects.services import project_create
from backend.trees.models import Message
from tests.factories import UserFactory

README = Path(settings.BASE_DIR) / "README.md"


def api_example() -> str:
    text = README.read_text()
    section = text[text.index("## Try the API") :]
    found = re.search(r"```bash\n(?P<script>.*?)```", section, re.S)
    assert found is not None, "the README's API section has no bash block"
    return found["script"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl, as the README does")
@pytest.mark.django_db(transaction=True)
def test_the_readmes_api_example_runs_as_written(live_server):
    project_create(slug="demo", languages=["en"])
    volunteer = UserFactory()
    script = api_example()
    assert "TOKEN=..." in script and "BASE=http://127.0.0.1:8000" in script
    script = script.replace("TOKEN=...", f"TOKEN={user_token(user=volunteer)}", 1).replace(
        "BASE=http://127.0.0.1:8000", f"BASE={live_server.url}", 1
    )

    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert "code" not in answer, answer
    assert answer["assignment"]["state"] == "submitted"
    [message] = Message.objects.filter(author=volunteer)
    assert message.text == "How do I keep fresh basil from wilting in the kitchen?"
