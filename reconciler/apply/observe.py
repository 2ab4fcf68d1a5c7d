"""Read the live state for a plan: one paged list, plus the permissions of only
those models whose manifests declare permissions. No per-model GET.

Either everything is read or the call raises: a plan is never made from a
partial list (an outage must not look like "nothing is live").
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from reconciler.model.desired import Desired
from reconciler.model.live import LiveModel, LivePermission, Observed


class ListingClient(Protocol):
    def list_tuned_models(self) -> list[dict[str, Any]]: ...
    def list_permissions(self, model: str) -> list[dict[str, Any]]: ...


def observe(client: ListingClient, desired: Desired, concurrency: int = 4) -> Observed:
    models = tuple(LiveModel.from_api(body) for body in client.list_tuned_models())
    live_ids = {model.id for model in models}
    wanted = [
        model.id
        for model in desired.models
        if model.manifest.spec.permissions and model.id in live_ids
    ]

    def permissions_of(model_id: str) -> tuple[LivePermission, ...]:
        return tuple(LivePermission.from_api(p) for p in client.list_permissions(model_id))

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        permissions = dict(zip(wanted, pool.map(permissions_of, wanted), strict=True))
    return Observed(models=models, permissions=permissions)
