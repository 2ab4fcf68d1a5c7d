"""`reconciler promote ID`: promote a candidate its promotion gate held.

An explicit, recorded way out of a hold (docs/promotion-gates.md): the held
candidate is marked tested on the resources themselves (the held label goes,
its recorded scores stay), so it serves from the next read on; then a fresh
read removes the model it supersedes, as an apply's promotion does. Nothing is
tuned. Only a candidate held for the manifest's current inputs is promoted:
one tuned from other inputs is not what the manifest describes.
"""

from __future__ import annotations

import click

from reconciler.apply.progress import NullReporter
from reconciler.cli.app import App, pass_app
from reconciler.cli.repository import command_hint
from reconciler.cli.session import Session
from reconciler.model.errors import UserError
from reconciler.model.evaluation import recorded_score
from reconciler.model.live import LiveModel
from reconciler.model.ownership import ownership_for
from reconciler.plan.rules import ReplaceOrder


@click.command("promote")
@click.argument("model_id", metavar="ID")
@click.option(
    "-C",
    "--dir",
    "path",
    default=".",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="The repository.",
)
@pass_app
def promote_command(app: App, model_id: str, path: str) -> None:
    """Promote a candidate held by its promotion gate; the model it replaces is removed."""
    session = Session.open(app, path, model_id=model_id)
    backend = session.backend
    address = backend.rules.address(model_id)
    if backend.rules.replace_order is not ReplaceOrder.CREATE_FIRST:
        raise UserError(
            f"{address}: nothing to promote: on the {backend.name} backend a replace deletes the old model "
            "before it creates the new one (the id must be free), so no candidate is ever held beside it; "
            "a model that failed its gate stays untested and the plan shows verify until it passes"
        )
    model = session.desired.by_id().get(model_id)
    if model is None:
        raise UserError(f"{address}: no manifest declares {model_id}; only a declared model's candidate is promoted")
    live = backend.find(model_id)
    _check_held(live, address, ownership_for(model).fingerprint)
    assert live is not None
    superseded = live.serving.get("model", "")
    backend.mark_tested(model, evaluation=live.evaluation)  # `held` dropped, the digest and score kept
    fresh = backend.find(model_id)
    removed: tuple[str, ...] = ()
    if fresh is not None and fresh.ownership is not None and fresh.superseded:
        removed = fresh.superseded
        # Its waits (operations, a delete refused a while) report no progress.
        backend.remove_superseded(fresh, session.waiter(NullReporter()))
    serving = (fresh.serving.get("model") if fresh is not None else "") or "the candidate"
    gone = f"; removed {', '.join(removed)}" if removed else (f"; {superseded} was gone already" if superseded else "")
    app.console.print(
        f"Promoted {address}: {serving} serves now (its gate score "
        f"{_score(live)} recorded){gone}. "
        f"Run `{command_hint(app.emulator, 'plan', path)}` to check it is in sync."
    )


def _check_held(live: LiveModel | None, address: str, fingerprint: str) -> None:
    """Refuse, saying why, anything but a managed candidate held for these inputs."""
    if live is None or live.ownership is None:
        raise UserError(f"{address}: no held candidate to promote (no managed model is live under this id)")
    if not live.held:
        raise UserError(
            f"{address}: no held candidate to promote: no candidate of it failed its promotion gate "
            "(`reconciler plan` shows what an apply would do)"
        )
    if live.ownership.fingerprint != fingerprint:
        raise UserError(
            f"{address}: its held candidate was tuned from other inputs than the manifest declares "
            "now; it is not promoted (`reconciler plan` shows the replace the new inputs need)"
        )


def _score(live: LiveModel) -> str:
    score = recorded_score(live.evaluation)
    return f"{score:.3f}" if score is not None else "none"
