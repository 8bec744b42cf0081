"""The signature scheme and the target check, as a receiver and an operator see them."""

from __future__ import annotations

import pytest

from backend.webhooks import signing
from backend.webhooks.targets import TargetRefused, check_url

SECRET = "whsec_test-secret"
BODY = b'{"event":"ping","id":"1"}'


def test_a_signature_verifies_and_any_change_breaks_it():
    header = signing.signature_header(SECRET, 1_700_000_000, BODY)
    assert header.startswith("t=1700000000,v1=")
    assert len(header.split("v1=")[1]) == 64
    assert signing.verify(SECRET, header, BODY, now=1_700_000_010)
    assert not signing.verify(SECRET, header, BODY + b" ", now=1_700_000_010)
    assert not signing.verify("whsec_other", header, BODY, now=1_700_000_010)
    assert not signing.verify(
        SECRET, header.replace("t=1700000000", "t=1700000001"), BODY, now=1_700_000_010
    )


def test_an_old_signature_is_refused_as_a_replay():
    header = signing.signature_header(SECRET, 1_700_000_000, BODY)
    assert signing.verify(SECRET, header, BODY, now=1_700_000_300)
    assert not signing.verify(SECRET, header, BODY, now=1_700_000_301)
    assert not signing.verify(SECRET, "garbage", BODY, now=1_700_000_000)


def test_secrets_are_new_each_time():
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second
    assert first.startswith("whsec_") and len(first) > 40


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_loopback_and_reserved_targets_are_refused(url):
    with pytest.raises(TargetRefused) as refused:
        check_url(url, allow_private=False)
    assert refused.value.code == "webhook_private_target"
    check_url(url, allow_private=True)  # the operator may allow them


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://8.8.8.8/x", "webhook_bad_scheme"),
        ("file:///etc/passwd", "webhook_bad_scheme"),
        ("https://user:pw@8.8.8.8/x", "webhook_credentials"),
    ],
)
def test_malformed_targets_are_refused_even_when_private_ones_are_allowed(url, code):
    with pytest.raises(TargetRefused) as refused:
        check_url(url, allow_private=True)
    assert refused.value.code == code


def test_a_public_address_passes():
    check_url("https://8.8.8.8/hook", allow_private=False)
