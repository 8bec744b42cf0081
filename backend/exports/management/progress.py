"""A one-line progress bar for the management commands, drawn only on a terminal."""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO, *, label: str, enabled: bool) -> None:
        self.stream = stream
        self.label = label
        self.enabled = enabled
        self.started = time.monotonic()
        self.last_draw = 0.0

    def update(self, done: int, total: int, detail: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        fraction = min(1.0, done / total) if total else 1.0
        filled = int(fraction * WIDTH)
        bar = "█" * filled + "░" * (WIDTH - filled)
        elapsed = now - self.started
        self.stream.write(f"\r{self.label} {bar} {fraction:6.1%} {detail} {elapsed:5.1f}s")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
