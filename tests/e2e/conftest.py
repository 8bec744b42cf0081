"""Browser tests: Playwright for Python driving Debian's chromium against a real server.

Why not pytest-django's ``live_server``: it is a WSGI server, and the live
notifications need websockets (ASGI). uvicorn serves the project's ASGI application
(HTTP and websockets, as ``make run`` does) from a thread of the test process, so the
server shares the test database, the channel layer (in-memory, or channels-redis with
REDIS_URL) and the locmem email outbox with the tests.

Every test that uses the ``page`` fixture is marked ``browser`` and skipped, with the
reason, when chromium, Playwright or the built front end is missing.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
BUILT_SCRIPT = Path(settings.BASE_DIR) / "frontend" / "build" / "arbor" / "app.js"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return (
            "needs Debian's chromium at /usr/bin/chromium "
            "(apt-get install chromium; .ci/run installs it)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs Playwright for Python (pip install -r requirements.txt)"
    if not BUILT_SCRIPT.exists():
        return "needs the built front end in frontend/build (make frontend, which make test runs)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="package")
def asgi_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The ASGI app under uvicorn in a thread; yields its base URL."""
    import uvicorn

    from backend.config.asgi import application

    # Close each request's connection when it ends: server threads must not keep
    # connections that would stop the test database from being flushed or dropped.
    database = connections.settings["default"]
    previous_max_age = database.get("CONN_MAX_AGE", 0)
    database["CONN_MAX_AGE"] = 0
    port = _free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-e2e", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    database["CONN_MAX_AGE"] = previous_max_age


@pytest.fixture(scope="package")
def browser(django_db_setup: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an asyncio loop in a greenlet of the main thread, which
    # Django mistakes for async code calling the ORM. Nothing here is async: allow it
    # while the browser runs (Django documents this switch for such environments).
    # Package scope: the loop must be gone before other packages' asyncio tests run.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(
    asgi_server: str, browser: Any, transactional_db: None
) -> Iterator[Callable[..., Any]]:
    """Make a page in a fresh browser context (its own cookies); errors in the page's
    scripts fail the test."""
    contexts = []
    errors: list[str] = []

    def make(*, mobile: bool = False, locale: str = "en-GB") -> Any:
        viewport = {"width": 390, "height": 844} if mobile else {"width": 1200, "height": 900}
        context = browser.new_context(
            base_url=asgi_server, viewport=viewport, locale=locale, has_touch=mobile
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"script errors in the page: {errors}"


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


def ready(page: Any) -> None:
    """Wait until the page's scripts have wired everything up (hotkeys, widgets)."""
    page.wait_for_function(
        """() => document.documentElement.dataset.arborReady === "true"
              && [...document.querySelectorAll("[data-task]")].every((t) => t.dataset.ready)"""
    )


def no_sideways_scroll(page: Any) -> None:
    """Nothing on the page is wider than the window (the page never scrolls sideways)."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]"
    )
    assert widths[0] <= widths[2] and widths[1] <= widths[2], widths


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot under test-artifacts/ (gitignored) for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def log_in(asgi_server: str) -> Callable[[Any, Any], None]:
    """Sign a user in by giving the browser a session cookie (the real log-in form has
    its own test)."""

    def sign_in(page: Any, user: Any) -> None:
        from django.test import Client

        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": asgi_server}]
        )

    return sign_in
