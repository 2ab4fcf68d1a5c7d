"""What identifies a model's evaluation, apart from its tuning fingerprint.

`spec.evaluation` is never a tuning input: `ownership_for` and the
fingerprint leave it out, so a changed evaluation set, metric or threshold
never re-tunes. Two short digests say instead what changed, for a backend to
record beside the scores on the resources (12 hex digits: a valid label value
on Vertex AI):

- `scores_digest`: what a score depends on, the evaluation examples (their
  canonical digest, as for training data: file format and order do not count)
  and the metrics. A recorded score is current exactly while it is equal.
- `evaluation_digest`: that plus the gate (its metric and thresholds). A
  decision recorded under it is current exactly while it is equal.

`onFailure` is in neither: it changes what a failed gate does, not any score
or decision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from reconciler.model.desired import DesiredModel
from reconciler.model.manifest import Evaluation
from reconciler.model.ownership import short_hash

DIGEST_LENGTH = 12
# A score recorded on a resource (a label value on Vertex AI): thousandths, 4
# digits (0800 = 0.800).
SCORE_SCALE = 1000


def score_label(value: float) -> str:
    """A score as it is recorded: `0800` for 0.8."""
    return f"{round(value * SCORE_SCALE):04d}"


def recorded_score(recorded: Mapping[str, str]) -> float | None:
    """The score a recorded gate result holds (`{"score": "0800"}` -> 0.8), or None."""
    score = recorded.get("score", "")
    return int(score) / SCORE_SCALE if score.isdigit() else None


# Bumped if the canonical form below changes, so old and new never compare equal.
_VERSION = "evaluation/v1"


def scores_digest(model: DesiredModel) -> str | None:
    """The digest of what the scores depend on; None without `spec.evaluation`."""
    evaluation = model.manifest.spec.evaluation
    if evaluation is None or model.evaluation is None:
        return None
    return _digest({"data": model.evaluation.digest, "metrics": _metrics(evaluation)})


def evaluation_digest(model: DesiredModel) -> str | None:
    """The digest of the whole evaluation (data, metrics, gate); None without one."""
    evaluation = model.manifest.spec.evaluation
    if evaluation is None or model.evaluation is None:
        return None
    gate = evaluation.gate
    return _digest(
        {
            "data": model.evaluation.digest,
            "metrics": _metrics(evaluation),
            "gate": {
                "metric": gate.metric.value,
                "atLeast": _number(gate.at_least),
                "notWorseThan": gate.not_worse_than,
                "tolerance": _number(gate.tolerance),
            },
        }
    )


def _metrics(evaluation: Evaluation) -> list[str]:
    # The order metrics are listed in changes no score.
    return sorted(metric.value for metric in evaluation.metrics)


def _number(value: float | None) -> str | None:
    # repr of a float: `1` and `1.0` in YAML are the same threshold.
    return None if value is None else repr(float(value))


def _digest(canonical: dict[str, object]) -> str:
    text = _VERSION + "\n" + json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return short_hash(text, DIGEST_LENGTH)
