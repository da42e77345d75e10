"""The demo's supervisor: crashes are counted and restarted within a limit, logs are captured, and stopping
leaves nothing running, even a child that ignores SIGTERM or one that spawned a grandchild."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from soroka.demo.supervising import ServiceSpec, Supervisor


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose; /proc tells.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"


def _py(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def _poll_until(sup: Supervisor, cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sup.poll()
        if callable(cond) and cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_crashing_service_is_counted_restarted_and_given_up_after_limit(tmp_path: Path) -> None:
    with Supervisor(
        tmp_path / "logs", max_restarts=2, restart_delay=0.0, pids_file=tmp_path / "pids.json"
    ) as sup:
        child = sup.start(ServiceSpec("crasher", _py("import sys; print('boom', flush=True); sys.exit(3)")))
        _poll_until(sup, lambda: child.given_up)
        assert child.crashes == 3 and child.starts == 3 and child.exit_codes == [3, 3, 3]
        assert child.state == "failed"
        assert sup.crashes == {"crasher": 3}
        assert sup.log_path("crasher").read_text().count("boom") == 3
        assert json.loads((tmp_path / "pids.json").read_text())["services"] == {"crasher": None}


def test_stop_terminates_every_process_group_even_stubborn_ones(tmp_path: Path) -> None:
    stubborn = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    sup = Supervisor(tmp_path / "logs", grace=1.0)
    with sup:
        polite = sup.start(ServiceSpec("polite", _py("import time; time.sleep(60)")))
        hard = sup.start(ServiceSpec("stubborn", _py(stubborn), stop_last=True))
        log = sup.log_path("stubborn")
        _poll_until(sup, lambda: log.read_text().strip() != "")
        grandchild = int(log.read_text().split()[0])
        pids = [polite.pid, hard.pid, grandchild]
        assert all(p is not None and _alive(p) for p in pids)
        started = time.monotonic()
    assert time.monotonic() - started < 10
    assert not any(_alive(p) for p in pids if p is not None)
    assert sup.crashes == {"polite": 0, "stubborn": 0}
