"""Strategy status: Ready / Progressing / Degraded conditions from what the children report (pure)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Readiness:
    """How far the Strategy's Deployments are from what they should run."""

    ready: bool
    message: str
    analyzers_replicas: int
    analyzers_ready: int


def readiness(deployments: dict[str, dict[str, Any] | None]) -> Readiness:
    """From each service's Deployment (None when missing) to one readiness summary."""
    waiting: list[str] = []
    analyzers = (0, 0)
    for service, dep in deployments.items():
        if dep is None:
            waiting.append(f"{service} (missing)")
            continue
        want = int((dep.get("spec") or {}).get("replicas") or 0)
        have = int((dep.get("status") or {}).get("readyReplicas") or 0)
        if service == "analyze":
            analyzers = (want, have)
        if have < want:
            waiting.append(f"{service} {have}/{want}")
    if waiting:
        return Readiness(False, "waiting for " + ", ".join(waiting), *analyzers)
    return Readiness(True, "all services ready", *analyzers)


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    previous: list[dict[str, Any]],
    ctype: str,
    status: bool,
    reason: str,
    message: str,
    generation: int | None,
) -> dict[str, Any]:
    """One condition; lastTransitionTime only moves when the status flips."""
    value = "True" if status else "False"
    old = next((c for c in previous if c.get("type") == ctype), None)
    since = (
        old["lastTransitionTime"]
        if old and old.get("status") == value and old.get("lastTransitionTime")
        else _now()
    )
    out = {"type": ctype, "status": value, "reason": reason, "message": message, "lastTransitionTime": since}
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def healthy(previous: list[dict[str, Any]], state: Readiness, generation: int | None) -> list[dict[str, Any]]:
    ready_reason = "AllReady" if state.ready else "Waiting"
    return [
        condition(previous, "Ready", state.ready, ready_reason, state.message, generation),
        condition(
            previous,
            "Progressing",
            not state.ready,
            "RollingOut" if not state.ready else "Available",
            state.message,
            generation,
        ),
        condition(previous, "Degraded", False, "AsExpected", "the strategy is applied", generation),
    ]


def degraded(
    previous: list[dict[str, Any]], reason: str, message: str, generation: int | None
) -> list[dict[str, Any]]:
    """Keep Ready as it was (the last good configuration still runs) and raise Degraded."""
    kept = [c for c in previous if c.get("type") == "Ready"]
    ready = kept[0] if kept else condition(previous, "Ready", False, "NotApplied", message, generation)
    return [
        ready,
        condition(previous, "Progressing", False, reason, message, generation),
        condition(previous, "Degraded", True, reason, message, generation),
    ]


def same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Equal apart from timestamps (so unchanged status is not re-patched)."""
    strip = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in a]
    return strip == [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in b]
