"""A small OpenAI-compatible server for the offline demo and the tests: it answers
``POST /v1/chat/completions`` from templates, never from a real model.

The requested ``model`` picks the behaviour (anything after the mode is a label):

- ``fast…`` (and any other name): a templated reply at once;
- ``slow…``: the same after ``slow_seconds``;
- ``error…``: HTTP 500;
- ``malformed…``: HTTP 200 with a body that is not a chat completion;
- ``hang…``: no answer for ``hang_seconds`` (the caller's timeout fires first);
- ``flaky…``: HTTP 500 for the first ``flaky_failures`` calls, then like ``fast``;
- ``pii…``: a templated reply that holds an e-mail address and a phone number (the
  quality signals flag it ``pii``);
- ``rude…``: a templated reply that insults the reader in English (flagged
  ``toxicity``).

``manage.py fake_models_serve`` runs it; tests start it on a free port in a thread.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("fast", "slow", "error", "malformed", "hang", "flaky", "pii", "rude")
PII_SENTENCE = "Write to jane.roe@example.com or call +1 415 555 0132 for the details."
RUDE_SENTENCE = "You are a stupid worthless idiot and everybody hates you, shut up."


def mode_of(model: str) -> str:
    for mode in MODES:
        if model.startswith(mode):
            return mode
    return "fast"


def reply_text(model: str, messages: list[dict[str, Any]]) -> str:
    """A templated reply that says it is canned. It never names the model (arena
    replies are anonymous), but each model keeps one style, so votes can prefer one."""
    last = next(
        (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    topic = " ".join(last.split()[:12])
    mode = mode_of(model)
    if mode == "pii":
        return f"[Canned demo reply, not a real model] You asked: “{topic}”. {PII_SENTENCE}"
    if mode == "rude":
        return f"[Canned demo reply, not a real model] {RUDE_SENTENCE}"
    if sum(model.encode()) % 2:  # "…-a" and "…-b" differ
        return (
            f"[Canned demo reply, not a real model] You asked: “{topic}”. In short: a "
            "real model would answer that here."
        )
    return (
        f"[Canned demo reply, not a real model] You asked: “{topic}”. Here is a longer "
        "answer in three steps: first, restate the question; second, give the facts that "
        "matter; third, say what remains uncertain. A real model would fill these in."
    )


class FakeModelServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int] = ("127.0.0.1", 0),
        *,
        slow_seconds: float = 1.0,
        hang_seconds: float = 30.0,
        flaky_failures: int = 1,
    ) -> None:
        super().__init__(address, _Handler)
        self.slow_seconds = slow_seconds
        self.hang_seconds = hang_seconds
        self.flaky_failures = flaky_failures
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: FakeModelServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/v1/models"):
            self._send(200, json.dumps({"object": "list", "data": []}).encode())
        else:
            self._send(404, b'{"error": "not found"}')

    def do_POST(self) -> None:
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, b'{"error": "not found"}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, b'{"error": "bad json"}')
            return
        model = str(request.get("model", ""))
        with self.server.lock:
            self.server.calls[model] += 1
            count = self.server.calls[model]
            self.server.requests.append(request)
        mode = mode_of(model)
        if mode == "error" or (mode == "flaky" and count <= self.server.flaky_failures):
            self._send(500, b'{"error": {"message": "internal error (fake)"}}')
            return
        if mode == "malformed":
            self._send(200, b'{"choices": [{"nothing": "here"}')
            return
        if mode == "hang":
            time.sleep(self.server.hang_seconds)
        if mode == "slow":
            time.sleep(self.server.slow_seconds)
        text = reply_text(model, list(request.get("messages") or []))
        body = {
            "id": f"chatcmpl-fake-{count}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
        self._send(200, json.dumps(body).encode())
