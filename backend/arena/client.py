"""An OpenAI-compatible chat-completions client (OpenAI, vLLM, llama.cpp server,
Ollama, TGI): one HTTP call, no retries, no database. ``calls`` wraps it with the
limits, retries and the circuit breaker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

# [{"role": "system"|"user"|"assistant", "content": …}, …]
ChatMessages = list[dict[str, str]]


class ModelCallFailed(Exception):
    """A call that gave no usable reply. ``retryable`` is False for answers that will
    not change by asking again (400, 401, 403, 404)."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.retryable = retryable


@dataclass(frozen=True)
class Completion:
    text: str
    latency_ms: float


def chat_url(base_url: str) -> str:
    """``…/v1/chat/completions`` from a base URL given with or without ``/v1``."""
    base = base_url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


def chat_complete(
    *,
    base_url: str,
    model: str,
    messages: ChatMessages,
    api_key: str = "",
    temperature: float = 0.7,
    max_tokens: int = 512,
    timeout: float = 60.0,
) -> Completion:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "stream": False,
    }
    started = time.monotonic()
    try:
        response = httpx.post(
            chat_url(base_url),
            json=body,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        raise ModelCallFailed(f"timed out after {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise ModelCallFailed(f"connection failed: {type(error).__name__}: {error}") from None
    latency_ms = (time.monotonic() - started) * 1000
    if response.status_code != 200:
        excerpt = response.text[:200].replace("\n", " ")
        raise ModelCallFailed(
            f"HTTP {response.status_code}: {excerpt}",
            retryable=response.status_code not in (400, 401, 403, 404, 422),
        )
    try:
        data = response.json()
        text = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ModelCallFailed("malformed answer: not a chat completion") from None
    if not isinstance(text, str) or not text.strip():
        raise ModelCallFailed("empty reply")
    return Completion(text=text.strip(), latency_ms=latency_ms)
