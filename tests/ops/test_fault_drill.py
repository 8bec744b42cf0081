"""The fault drill, short: about a minute of volunteers at work while the Celery
worker is killed with SIGKILL, Redis restarts and PostgreSQL restarts (bench/drill.py).

The drill runs as a child process against its own PostgreSQL and Redis (initdb and
redis-server on free ports, in temporary directories, removed at the end even when it
fails), so the shared servers that the rest of the suite uses are never touched.
Asserted: every invariant holds (bench/invariants.py): no acknowledged submission was
lost or stored twice, no work item is over its need, no tree is stuck, the outbox
drained; and the volunteers got work done in every phase, the last one without errors.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.private_servers import ROOT, missing_server_binaries

pytestmark = pytest.mark.postgres

PHASE_SECONDS = 10
DRILL_TIMEOUT = 900  # setup, five phases, draining: a few minutes at worst on a busy machine


@pytest.fixture
def drill_figures(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    missing = missing_server_binaries()
    if missing:
        pytest.skip(f"the fault drill runs private servers: needs {', '.join(missing)}")
    figures = tmp_path / "drill.json"
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("ARBOR_")
    }
    command = [
        sys.executable, str(ROOT / "bench" / "drill.py"), "--phase-seconds", str(PHASE_SECONDS),
        "--outage-seconds", "2", "--volunteers", "6", "--workers", "1", "--pool-size", "4",
        "--prompts", "60", "--json", str(figures),
    ]  # fmt: skip
    drill = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = drill.communicate(timeout=DRILL_TIMEOUT)
    finally:
        if drill.poll() is None:  # timed out or interrupted: the drill cleans up on SIGTERM
            drill.send_signal(signal.SIGTERM)
            try:
                drill.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(drill.pid, signal.SIGKILL)
                drill.wait()
    text = output.decode(errors="replace")
    assert figures.exists(), text
    return {"exit": drill.returncode, "output": text, **json.loads(figures.read_text())}


def test_no_acknowledged_submission_is_lost_through_the_faults(drill_figures):
    invariants = drill_figures["invariants"]
    assert drill_figures["failed"] == [], drill_figures["output"]
    assert drill_figures["exit"] == 0, drill_figures["output"]
    assert list(invariants) == [
        "nothing lost",
        "nothing stored twice",
        "no work item over its need",
        "no tree stuck",
        "outbox drained",
    ]
    assert all(check["violations"] == 0 for check in invariants.values())
    assert drill_figures["acknowledged"] > 0

    phases = {phase["phase"]: phase for phase in drill_figures["phases"]}
    assert list(phases) == ["calm", "worker kill", "Redis restart", "PostgreSQL restart", "after"]
    for name in ("worker kill", "Redis restart", "PostgreSQL restart"):
        assert phases[name]["outage_s"] is not None, name  # the fault was injected
        assert phases[name]["ok"] > 0, name  # and work went on around it
    # Once the faults are over, every request is answered, and without a server error.
    assert phases["after"]["ok"] > 0
    assert phases["after"]["server_errors"] == phases["after"]["no_answer"] == 0
    # A Redis outage answers no request with an error (the outbox keeps what is owed).
    assert phases["Redis restart"]["statuses"].get("500", 0) == 0
