"""Production security settings come from the environment, and ``check --deploy`` is
clean with the production environment documented in docs/security.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.test import Client

from tests.private_servers import ROOT, settings_for_environment

# The environment docs/security.md gives for production (with a real secret key).
PRODUCTION = {
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-3kq9Vx2LmR8tYp5Wz7Nc4Hb6Jd1Fg0Se",
    "DJANGO_ALLOWED_HOSTS": "arbor.example.org",
    "ARBOR_HTTPS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https",
}
# The schema generator's own warnings (drf-spectacular) are about the OpenAPI document,
# not about security; they are left to the schema's own tests.
NOT_SECURITY = re.compile(r"^drf_spectacular\.")


def _deploy_check(environment: dict[str, str]) -> tuple[int, str]:
    completed = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={
            key: value
            for key, value in {**os.environ, **environment}.items()
            if not key.startswith(("DJANGO_DEBUG", "DJANGO_SECURE", "ARBOR_HTTPS"))
            or key in environment
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    return completed.returncode, completed.stdout + completed.stderr


def _issue_ids(output: str) -> set[str]:
    return set(re.findall(r"\(([a-z_]+\.[EW]\d+)\)", output))


def test_check_deploy_is_clean_with_the_production_environment():
    returncode, output = _deploy_check(PRODUCTION)
    assert returncode == 0, output
    assert {issue for issue in _issue_ids(output) if not NOT_SECURITY.match(issue)} == set()


def test_check_deploy_names_what_is_missing_without_it():
    _, output = _deploy_check({})
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= _issue_ids(
        output
    )


def test_settings_read_from_the_environment():
    default = settings_for_environment({})
    assert default["DEBUG"] is False
    assert (default["SECURE_SSL_REDIRECT"], default["SESSION_COOKIE_SECURE"]) == (False, False)
    assert (default["CSRF_COOKIE_SECURE"], default["SECURE_HSTS_SECONDS"]) == (False, 0)
    assert "SECURE_PROXY_SSL_HEADER" not in default

    production = settings_for_environment(PRODUCTION)
    assert production["DEBUG"] is False
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SECURE_HSTS_SECONDS"] == 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_HSTS_PRELOAD"] is True
    assert production["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")

    assert settings_for_environment({"DJANGO_DEBUG": "true"})["DEBUG"] is True
    overridden = settings_for_environment(
        {"ARBOR_HTTPS": "true", "DJANGO_SECURE_HSTS_SECONDS": "60"}
    )
    assert overridden["SECURE_HSTS_SECONDS"] == 60


def test_make_run_turns_debug_on():
    makefile = (ROOT / "Makefile").read_text()
    assert "DJANGO_DEBUG=$${DJANGO_DEBUG:-true}" in makefile


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy():
    response = Client().get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert b"<script>" not in response.content and b"<style" not in response.content


@pytest.mark.django_db
def test_behind_the_proxy_https_is_recognised_and_http_redirected(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    plain = Client().get("/accounts/login/", HTTP_HOST="testserver")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/accounts/login/"
    secure = Client().get(
        "/accounts/login/", HTTP_HOST="testserver", HTTP_X_FORWARDED_PROTO="https"
    )
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000"
    assert Client().get("/healthz").status_code in (200, 503)  # probes stay on HTTP
