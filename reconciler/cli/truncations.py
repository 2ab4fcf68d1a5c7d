"""Examples the service truncated or dropped, back at their source.

Vertex AI reports them as one-based indices in the uploaded (canonical) order
with a reason each; `canonical_origins` maps an index to the `file:line` the
example came from. They are warned about after the apply, and kept under
`.reconciler/truncated/<dataset>.json` (the dataset fingerprint's data part),
so the next `validate` of the same data repeats them.
"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.cli.state import STATE_DIR, make_state_folder
from reconciler.loader import canonical_origins
from reconciler.model.desired import DesiredModel
from reconciler.model.live import Reported
from reconciler.model.ownership import data_digest, data_hash

FOLDER = "truncated"
MAX_SHOWN = 20  # warnings a model; the service reports a partial sample anyway


def truncation_warnings(model: DesiredModel, reported: Reported, root: str) -> list[str]:
    """One warning a truncated example, naming where it is in the user's data."""
    if not reported.truncated:
        return []
    origins = canonical_origins(model, root)
    warnings = []
    for place, index in enumerate(reported.truncated[:MAX_SHOWN]):
        where = origins[index - 1] if 0 < index <= len(origins) else f"example {index} of the upload"
        reason = reported.reasons[place] if place < len(reported.reasons) else "truncated"
        warnings.append(f"{model.id}: the example at {where} was truncated or dropped by the service: {reason}")
    if len(reported.truncated) > MAX_SHOWN:
        warnings.append(f"{model.id}: {len(reported.truncated) - MAX_SHOWN} more truncated examples")
    return warnings


def _file(root: Path, model: DesiredModel) -> Path:
    return root / STATE_DIR / FOLDER / f"{data_hash(data_digest(model))}.json"


def remember(root: Path, model: DesiredModel, warnings: list[str]) -> None:
    """Keep a run's warnings for the next `validate` of the same data."""
    make_state_folder(root / STATE_DIR)
    folder = make_state_folder(root / STATE_DIR / FOLDER)
    (folder / _file(root, model).name).write_text(json.dumps({"warnings": warnings}), encoding="utf-8")


def remembered(root: Path, model: DesiredModel) -> list[str]:
    """The warnings of the last run on this model's data; none when it had none or the file is unreadable."""
    try:
        data = json.loads(_file(root, model).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    warnings = data.get("warnings") if isinstance(data, dict) else None
    return [w for w in warnings if isinstance(w, str)][: MAX_SHOWN + 1] if isinstance(warnings, list) else []
