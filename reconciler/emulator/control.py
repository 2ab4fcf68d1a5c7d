"""The control endpoints (`/_internal/`) and what they set, which every surface
shares: the faults, the tuning settings, the holds, the lost answers and the
request counts. A surface's own control endpoints are in its table (the
Vertex faults: `vertex/surface.py`); `reset` resets those too."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.errors import invalid_argument, not_found
from reconciler.emulator.faults import FaultSettings, LostAnswers
from reconciler.emulator.holds import MAX_WAIT_SECONDS, Hold, Holds
from reconciler.emulator.quota import SubmissionQuota
from reconciler.emulator.routing import Route, control
from reconciler.emulator.settings import VERTEX_FAILURES, TuningSettings
from reconciler.emulator.store import Store

TUNING_FIELDS = ("step_seconds", "fail_rate", "fail_ids", "vertex_failure")


class Control:
    def __init__(
        self,
        store: Store,
        tuning: TuningSettings,
        faults: FaultSettings,
        resets: Iterable[Callable[[], None]] = (),
        quota: SubmissionQuota | None = None,
    ) -> None:
        self.store = store
        self.quota = quota or SubmissionQuota()
        self.tuning = tuning
        self.faults = faults
        self._initial_faults = faults
        self._initial_tuning = replace(tuning)
        self._resets = tuple(resets)  # the surfaces' own run-time settings, back to their start
        self.holds = Holds()
        self.lost_answers = LostAnswers()
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()

    def count(self, key: str) -> None:
        """One more request of this verb and route template."""
        with self._counts_lock:
            self._counts[key] += 1

    def routes(self) -> tuple[Route, ...]:
        return (
            control("GET", "/_internal/health", self.health),
            control("POST", "/_internal/reset", self.reset),
            control("GET", "/_internal/faults", self.get_faults),
            control("POST", "/_internal/faults", self.set_faults),
            control("GET", "/_internal/tuning", self.get_tuning),
            control("POST", "/_internal/tuning", self.set_tuning),
            control("GET", "/_internal/requests", self.get_requests),
            control("DELETE", "/_internal/requests", self.reset_requests),
            control("GET", "/_internal/holds", self.list_holds),
            control("POST", "/_internal/holds", self.add_hold),
            control("GET", "/_internal/holds/<id:hold_id>", self.get_hold, "arrived", "waitSeconds"),
            control("POST", "/_internal/holds/<id:hold_id>:release", self.release_hold),
            control("GET", "/_internal/quota", self.get_quota),
            control("POST", "/_internal/quota", self.set_quota),
            control("GET", "/_internal/lost-answers", self.get_lost_answers),
            control("POST", "/_internal/lost-answers", self.add_lost_answer),
            control("DELETE", "/_internal/lost-answers", self.clear_lost_answers),
        )

    def health(self, call: Call) -> Reply:
        return 200, {"status": "ok"}

    def reset(self, call: Call) -> Reply:
        """Forget every model, count and fault set at run time."""
        self.store.clear()
        self.faults = self._initial_faults
        for reset in self._resets:
            reset()
        self.holds.release_all()
        self.lost_answers.clear()
        self.quota.reset()
        for name, value in vars(self._initial_tuning).items():
            setattr(self.tuning, name, value)
        self.reset_requests(call)
        return 200, {}

    def get_faults(self, call: Call) -> Reply:
        return 200, self.faults.to_json()

    def set_faults(self, call: Call) -> Reply:
        self.faults = FaultSettings.from_json(call.body)
        return 200, self.faults.to_json()

    def get_tuning(self, call: Call) -> Reply:
        return 200, _tuning_json(self.tuning)

    def set_tuning(self, call: Call) -> Reply:
        """Change how new tuning runs go: step_seconds, fail_rate, fail_ids, vertex_failure."""
        body = call.body
        if not isinstance(body, dict) or set(body) - set(TUNING_FIELDS):
            raise invalid_argument(f"Expected an object with {', '.join(TUNING_FIELDS)}.")
        step = body.get("step_seconds", self.tuning.step_seconds)
        rate = body.get("fail_rate", self.tuning.fail_rate)
        fail_ids = body.get("fail_ids", sorted(self.tuning.fail_ids))
        vertex_failure = body.get("vertex_failure", self.tuning.vertex_failure)
        if not (
            _number_in(step, 0, 86400)
            and _number_in(rate, 0, 1)
            and isinstance(fail_ids, list)
            and all(isinstance(i, str) for i in fail_ids)
            and vertex_failure in VERTEX_FAILURES
        ):
            raise invalid_argument(
                "step_seconds 0..86400, fail_rate 0..1, fail_ids a list "
                "of model ids (Vertex: manifest ids or display names), "
                f"vertex_failure one of {', '.join(VERTEX_FAILURES)}."
            )
        self.tuning.step_seconds = float(step)
        self.tuning.fail_rate = float(rate)
        self.tuning.fail_ids = frozenset(fail_ids)
        self.tuning.vertex_failure = vertex_failure
        return 200, _tuning_json(self.tuning)

    def get_quota(self, call: Call) -> Reply:
        return 200, self.quota.to_json()

    def set_quota(self, call: Call) -> Reply:
        """The submission quota: {tuning_submissions_per_minute} (0: off), per project and
        location on Vertex AI, per account and region on Bedrock (quota.py)."""
        self.quota.update(call.body)
        return 200, self.quota.to_json()

    def list_holds(self, call: Call) -> Reply:
        return 200, {"holds": [hold.to_json() for hold in self.holds.all()]}

    def add_hold(self, call: Call) -> Reply:
        """Hold requests: {method, path_regex, times (1; 0 every one), after (false)}."""
        return 200, self.holds.from_json(call.body).to_json()

    def get_hold(self, call: Call, hold_id: str) -> Reply:
        """The hold; with `arrived=N`, waits up to `wait_seconds` (at most 60) for N
        requests to have been caught (the answer says how many were)."""
        hold = self._hold(hold_id)
        if "arrived" in call.query:
            count = _whole_number(call.query["arrived"], "arrived", 1000)
            wait = min(
                float(_whole_number(call.query.get("waitSeconds", "10"), "wait_seconds", int(MAX_WAIT_SECONDS))),
                MAX_WAIT_SECONDS,
            )
            with contextlib.suppress(TimeoutError):
                hold.wait_arrived(count, wait)
        return 200, hold.to_json()

    def release_hold(self, call: Call, hold_id: str) -> Reply:
        hold = self._hold(hold_id)
        hold.release()
        return 200, hold.to_json()

    def _hold(self, hold_id: str) -> Hold:
        hold = self.holds.get(hold_id)
        if hold is None:
            raise not_found(f"No hold {hold_id[:50]}.")
        return hold

    def get_lost_answers(self, call: Call) -> Reply:
        return 200, {"rules": self.lost_answers.to_json()}

    def add_lost_answer(self, call: Call) -> Reply:
        """Arm {method, path_regex, count (1), answer ("drop" or "503")}."""
        self.lost_answers.arm_json(call.body)
        return 200, {"rules": self.lost_answers.to_json()}

    def clear_lost_answers(self, call: Call) -> Reply:
        self.lost_answers.clear()
        return 200, {"rules": []}

    def get_requests(self, call: Call) -> Reply:
        with self._counts_lock:
            counts = dict(sorted(self._counts.items()))
        return 200, {"counts": counts, "total": sum(counts.values())}

    def reset_requests(self, call: Call) -> Reply:
        with self._counts_lock:
            self._counts.clear()
        return 200, {}


def _tuning_json(tuning: TuningSettings) -> dict[str, Any]:
    return {
        "step_seconds": tuning.step_seconds,
        "fail_rate": tuning.fail_rate,
        "fail_ids": sorted(tuning.fail_ids),
        "vertex_failure": tuning.vertex_failure,
    }


def _whole_number(text: str, name: str, high: int) -> int:
    if not text.isdigit() or int(text) > high:
        raise invalid_argument(f"{name} must be a whole number from 0 to {high}.")
    return int(text)


def _number_in(value: Any, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
