"""Social log-in is configured by ARBOR_SOCIAL_PROVIDERS alone: the provider's app is
installed and its button appears on the log-in page. Run in a child process, since
INSTALLED_APPS are read once at start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

SCRIPT = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
body = Client().get("/accounts/login/").content.decode()
print("PROVIDER-LINK" if "/accounts/github/login/" in body else "NO-LINK")
"""


def test_a_provider_named_in_the_environment_gets_a_log_in_button(tmp_path: Path) -> None:
    environment = {
        **{key: value for key, value in os.environ.items() if key != "DATABASE_URL"},
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "SQLITE_PATH": str(tmp_path / "social.sqlite3"),
        "ARBOR_SOCIAL_PROVIDERS": json.dumps({"github": {"client_id": "id", "secret": "s"}}),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "PROVIDER-LINK"
