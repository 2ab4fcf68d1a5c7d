"""The Gemini API's `tunedModels` behind the `Backend` interface.

Creates send the manifest id as `tunedModelId`, so a re-run after a crash
answers ALREADY_EXISTS and reads the model instead of making a second one; the
id must then be free before a replace creates it again (destroy-then-create).

A model made again at the same id has the same name, so the trailer is bound
to the model's createTime too (`trailer.py`): the create binds it as soon as
the model exists, and every later patch of the description binds it to the
createTime of the model the plan was made on, never to a model that took its
place since.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from reconciler.apply.backend import CannotAdopt, ChangeFailed, Tuned
from reconciler.apply.waiting import Waiter
from reconciler.backends.gemini import progress
from reconciler.backends.gemini.client import GeminiClient
from reconciler.backends.gemini.defaults import GENERATION_KEYS, BaseModelDefaults
from reconciler.backends.gemini.export import manifest_for
from reconciler.backends.gemini.live import (
    PLAN_FIELDS,
    PROGRESS_FIELDS,
    Snapshots,
    live_model,
    live_permission,
    reported_of,
)
from reconciler.backends.gemini.names import ADDRESS_TEMPLATE, BASE_PREFIX, key_of
from reconciler.backends.gemini.requests import create_body, name_of, permission_body, update_body
from reconciler.backends.gemini.rules import CHECKS, RULES, manifest_problems
from reconciler.backends.gemini.settings import GeminiSettings
from reconciler.backends.gemini.trailer import Marker, canonical_time
from reconciler.client.auth import API_KEY_VARIABLES, Anonymous
from reconciler.client.errors import AlreadyExists, NotFound
from reconciler.loader.checks import BackendChecks
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.errors import UserError
from reconciler.model.live import LiveModel, LivePermission, LiveState, Observed
from reconciler.model.ownership import gated, ownership_for
from reconciler.model.settings import Settings
from reconciler.model.shards import Shards, one_shard
from reconciler.model.signing import keys_from
from reconciler.plan.inputs import input_changes, mismatch_lines
from reconciler.plan.types import PermissionChange

# PaLM-era base models are served through generateText (v1beta3), the rest
# through generateContent.
PALM_PREFIX = BASE_PREFIX + "text-"
# What a wait shows and keeps: progress (the last snapshot) while it runs, the
# loss curve and the outcome at the end; not the snapshots' times, nor the
# finished model the operation repeats in `response`.
OPERATION_FIELDS = "name,done,error,metadata(totalSteps,completedSteps,completedPercent,snapshots(step,epoch,meanLoss))"
WAIT_FIELDS = f"{PLAN_FIELDS},tuningTask/snapshots(step,epoch,meanLoss)"


class GeminiBackend:
    name = "gemini"
    rules = RULES
    settings_block = GeminiSettings
    settings_inline = True  # endpoint and apiVersion at the top level, where they always were
    secret_variables = API_KEY_VARIABLES
    target_block = None  # the quota is the API key's project's: one target, one shard

    @classmethod
    def shards(cls, settings: Settings) -> Shards:
        return one_shard(settings, "gemini", "Gemini API (the API key's project)")

    def __init__(self, client: GeminiClient, concurrency: int = 4, marker: Marker | None = None) -> None:
        self.client = client
        self.concurrency = concurrency
        self.marker = marker or Marker()
        self.defaults = BaseModelDefaults(client)
        self._base_models: dict[str, str] = {}  # key -> base model, from the last observe
        # key -> createTime of the managed model the last observe saw there, or
        # of the model this run created: what the trailer binds to.
        self._create_times: dict[str, str] = {}
        # Keys whose marker was last seen trusted only where nothing is
        # destroyed (`legacy`): only a change the plan decided binds it.
        self._weak: set[str] = set()

    @classmethod
    def checks(cls, settings: Settings) -> BackendChecks:
        return CHECKS

    @classmethod
    def connect(
        cls, settings: Settings, *, emulator: str | None = None, env: Mapping[str, str] | None = None
    ) -> GeminiBackend:
        """A backend for `reconciler.yaml`'s settings, or for an emulator at
        `emulator`; ownership markers are signed with the keys in `env`."""
        env = os.environ if env is None else env
        marker = Marker(keys_from(env))
        if emulator is not None:
            client = GeminiClient(
                endpoint=emulator,
                api_version=GeminiSettings.of(settings).api_version,
                credentials=Anonymous(),
                timeout=settings.request_timeout_seconds,
                pool_size=max(10, settings.concurrency),
            )
        else:
            client = GeminiClient.from_settings(settings, env=env)
        return cls(client, settings.concurrency, marker)

    @classmethod
    def emulator_fixtures(cls, settings: Settings) -> dict[str, Any]:
        """What an emulator started for these settings must hold beforehand
        (`EmulatorOptions` fields): nothing, the Gemini API has no fixtures."""
        return {}

    manifest_problems = staticmethod(manifest_problems)

    def describe_target(self) -> str:
        endpoint = self.client.endpoint
        if isinstance(self.client.credentials, Anonymous):
            host = endpoint.split("://", 1)[-1]
            return f"the emulator at {host} (GENERATIVELANGUAGE_EMULATOR_HOST)"
        project = self.client.quota_project
        where = f"{endpoint}/{self.client.api_version} ({self.client.credentials.describe()})"
        return where + (f", quota project {project}" if project else "")

    def close(self) -> None:
        self.client.close()

    # --- observe ------------------------------------------------------------------

    def observe(self, desired: Desired) -> Observed:
        """One paged list, plus the permissions of only those models whose manifests
        declare permissions. No per-model GET; a partial list raises."""
        return self.observe_models()(desired)

    def observe_models(self, *, progress: bool = False) -> Callable[[Desired], Observed]:
        """The paged list, asking only for the fields the plan reads (and, with
        `progress`, each run's last step and loss); each page is decoded and
        dropped as it comes. Returns what reads the permissions the manifests need."""
        fields, snapshots = (PROGRESS_FIELDS, Snapshots.LAST) if progress else (PLAN_FIELDS, Snapshots.NONE)
        listed = [
            live_model(body, self.marker, snapshots)
            for page in self.client.tuned_model_pages(fields=fields)
            for body in page
        ]
        models = self._with_defaults(listed)
        return lambda desired: Observed(models=models, permissions=self._declared_permissions(desired, models))

    def _declared_permissions(
        self, desired: Desired, models: tuple[LiveModel, ...]
    ) -> dict[str, tuple[LivePermission, ...]]:
        live_keys = {model.key for model in models}
        wanted = [m.id for m in desired.models if m.manifest.spec.permissions and m.id in live_keys]
        if not wanted:
            return {}
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return dict(zip(wanted, pool.map(self._permissions, wanted), strict=True))

    def _with_defaults(self, models: list[LiveModel]) -> tuple[LiveModel, ...]:
        """Managed models with their base model's generation defaults (one GET a
        base model), so a field removed from a manifest is planned back to it.
        Each copy takes its original's place at once: a large account is never
        held twice."""
        base_models = {m.key: m.base_model for m in models if m.ownership is not None}
        self._base_models.update(base_models)
        managed = [m for m in models if m.ownership is not None]
        self._create_times.update({m.key: m.create_time for m in managed})
        self._weak.update(m.key for m in managed if m.ownership and m.ownership.legacy)
        self._weak.difference_update(m.key for m in managed if m.ownership and not m.ownership.legacy)
        self.defaults.read(base_models.values())
        for index, model in enumerate(models):
            if model.ownership is not None:
                models[index] = model.model_copy(update={"defaults": self.defaults.of(model.base_model)})
        return tuple(models)

    def _permissions(self, key: str) -> tuple[LivePermission, ...]:
        return tuple(live_permission(p) for p in self.client.list_permissions(key))

    def find(self, key: str) -> LiveModel | None:
        try:
            return live_model(self.client.get_tuned_model(key), self.marker)
        except NotFound:
            return None

    # --- tuning -------------------------------------------------------------------

    def create(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        try:
            operation = self.client.create_tuned_model(create_body(model, self.marker), tuned_model_id=model.id)
        except AlreadyExists:
            # A crashed or concurrent run created it first: read what is there
            # instead of making a second model.
            return self._take_over(model, waiter)
        self._bind_marker(model)
        waiter.reporter.progress(progress.from_operation(model.id, operation, 0.0))
        if not operation.get("done"):  # a run may finish before the create answers
            # The create has just answered "not done": the first look waits an interval.
            operation = self.wait_for_operation(model.id, operation["name"], waiter, just_looked=True)
        if "error" in operation:
            error = operation["error"]
            raise ChangeFailed(f"tuning failed: {error.get('message', error)}")
        metadata = operation.get("metadata") or {}
        snapshots = metadata.get("snapshots") or []
        sent = model.manifest.spec.hyperparameters.as_sent()
        reported = reported_of({"snapshots": snapshots, "hyperparameters": sent}, ownership_for(model).data)
        if reported is not None and metadata.get("totalSteps"):
            reported = reported.model_copy(update={"steps": int(metadata["totalSteps"])})
        return Tuned(tuple(float(s["meanLoss"]) for s in snapshots if "meanLoss" in s), reported=reported)

    def _take_over(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        live = self.find(model.id)
        if live is None or live.ownership is None or live.ownership.fingerprint != ownership_for(model).fingerprint:
            raise ChangeFailed(
                f"{RULES.address(model.id)} already exists and was not made from this manifest; "
                "run `reconciler plan` again"
            )
        self._create_times[model.id] = live.create_time
        if live.ownership.legacy:
            self._weak.add(model.id)
        finished = self._finished(live if live.state is not LiveState.CREATING else self._wait_for(model, waiter))
        return Tuned(finished.losses, found=True, reported=finished.reported)

    def _bind_marker(self, model: DesiredModel) -> None:
        """Bind the new model's trailer to its createTime, which exists only once
        the create has answered. The description may be updated at any time,
        tuning or not (the API's tuning guide); until this patch lands the
        marker is trusted only where that destroys nothing, and the next apply
        binds it."""
        created = self.client.get_tuned_model(model.id, fields="createTime").get("createTime", "")
        self._create_times[model.id] = created
        self._weak.discard(model.id)
        if canonical_time(created):
            untested = gated(model)  # as the create wrote it
            description = self.marker.description(model, name_of(model), untested=untested, created=created)
            self.client.update_tuned_model(model.id, {"description": description}, ["description"])

    def wait(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        return self._finished(self._wait_for(model, waiter))

    def _finished(self, live: LiveModel) -> Tuned:
        if live.state is LiveState.FAILED:
            # The model does not keep its operation's error; the operation is not known here.
            raise ChangeFailed("tuning ended FAILED; the next plan replaces the model")
        return Tuned(live.losses, reported=live.reported)

    def wait_for_operation(self, key: str, name: str, waiter: Waiter, *, just_looked: bool = False) -> dict[str, Any]:
        """Poll a create operation until `done`; returns the final operation."""
        final: dict[str, Any] = {}

        def look(elapsed: float) -> bool:
            operation = self.client.get_operation(name, fields=OPERATION_FIELDS)
            waiter.reporter.progress(progress.from_operation(key, operation, elapsed))
            if operation.get("done"):
                final.update(operation)
                return True
            return False

        waiter.poll(look, f"tuning of {RULES.address(key)}", wait_first=just_looked)
        return final

    def _wait_for(self, model: DesiredModel, waiter: Waiter) -> LiveModel:
        return self.wait_for_model(model.id, RULES.tuning.total_steps(model), waiter)

    def wait_for_model(self, key: str, total_steps: int, waiter: Waiter) -> LiveModel:
        """Poll a model until it leaves CREATING (when its operation is not known);
        `total_steps`, from the manifest, turns its last snapshot into a share."""
        final: dict[str, Any] = {}

        def look(elapsed: float) -> bool:
            body = self.client.get_tuned_model(key, fields=WAIT_FIELDS)
            waiter.reporter.progress(progress.from_model(key, body, total_steps, elapsed))
            if body.get("state") not in ("CREATING", 1):
                final.update(body)
                return True
            return False

        waiter.poll(look, f"tuning of {RULES.address(key)}")
        return live_model(final, self.marker)

    # --- changes in place -----------------------------------------------------------

    def update(self, model: DesiredModel, update_mask: tuple[str, ...], *, untested: bool = False) -> None:
        """A change the plan decided: a marker it rewrites is bound (the plan
        trusted this model, or found it matching its manifest exactly)."""
        self._patch(model, update_mask, untested=untested, bind=True)
        if RULES.marker_mask in update_mask:
            self._weak.discard(model.id)

    def mark_tested(self, model: DesiredModel, evaluation: Mapping[str, str] | None = None) -> None:
        """Drop `untested` (the trailer records no scores: the apply summary has
        them); a marker still trusted only where nothing is destroyed
        (a run the apply waited for) stays unbound: passing smoke tests says
        nothing about whose model it is, and the next plan decides."""
        if model.id in self._weak:
            # A concurrent run that made the model may have bound it since this one
            # looked: a marker that verifies bound now is trusted, and stays bound.
            live = self.find(model.id)
            if live is not None and live.ownership is not None and not live.ownership.legacy:
                self._weak.discard(model.id)
                self._create_times[model.id] = live.create_time
        self._patch(model, (RULES.marker_mask,), untested=False, bind=model.id not in self._weak)

    def hold(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        """A failed gate: the old model was deleted first, so the model stays
        `untested` and the plan shows `verify` until it passes."""

    def record_evaluation(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        """Nothing to record on: the trailer carries no scores."""

    def generate_serving(self, key: str, base_model: str, text: str) -> str:
        """There is no model serving beside a candidate: a replace deleted it first."""
        return self.generate(key, base_model, text)

    def _patch(self, model: DesiredModel, update_mask: tuple[str, ...], *, untested: bool, bind: bool) -> None:
        defaults = self._defaults_for(model, update_mask)
        created = self._created(model.id) if bind and RULES.marker_mask in update_mask else ""
        body = update_body(model, update_mask, self.marker, defaults, untested=untested, created=created)
        self.client.update_tuned_model(model.id, body, list(update_mask))

    def _created(self, key: str) -> str:
        """The createTime the trailer binds to: the observed model's (the one the
        plan trusted), or read when this backend has not seen the model."""
        if key not in self._create_times:
            live = self.find(key)
            self._create_times[key] = live.create_time if live is not None else ""
        return self._create_times[key]

    def _defaults_for(self, model: DesiredModel, update_mask: tuple[str, ...]) -> dict[str, Any]:
        """The base model's values for the generation fields this update resets
        (masked, and left out of the manifest), by API field name."""
        resets = [key for key in GENERATION_KEYS.values() if key in update_mask]
        if not resets:
            return {}
        base_model = self._base_models.get(model.id)
        if base_model is None:  # not observed by this backend: read the model
            live = self.find(model.id)
            base_model = live.base_model if live is not None else ""
        defaults = self.defaults.of(base_model)
        return {GENERATION_KEYS[path]: value for path, value in defaults.items() if GENERATION_KEYS[path] in resets}

    def remove_superseded(self, live: LiveModel, waiter: Waiter) -> None:
        """Nothing to remove: a replace frees the id first, so an id is one model."""

    def delete(self, live: LiveModel, waiter: Waiter) -> None:
        # One call, nothing to wait for: the executor waits until the id is free.
        with suppress(NotFound):
            self.client.delete_tuned_model(live.key)

    def forget(self, live: LiveModel) -> None:
        body = {"description": live.fields.get("spec.description", "")}
        self.client.update_tuned_model(live.key, body, ["description"])

    def adopt(self, model: DesiredModel, live_key: str | None = None) -> LiveModel:
        """Write the trailer onto the live model; returns it as it was before.

        What the API returns is checked first (source model, hyperparameters);
        training data never comes back, so it is taken on trust. A tuned model's
        id is its name: it cannot be imported under another (`live_key`).
        """
        if live_key is not None and live_key.rpartition("/")[2] != model.id:
            raise CannotAdopt(
                f"{model.file} does not describe {live_key.rpartition('/')[2]} (metadata.name): on the Gemini API "
                "a tuned model's id is its name, so the manifest must use it"
            )
        body = self.client.get_tuned_model(model.id)
        live = live_model(body, self.marker)
        if live.ownership is not None and not live.ownership.legacy:
            raise CannotAdopt(f"{live.address} is managed already; `reconciler plan` shows its state")
        _, _, diffs = input_changes(model, live, RULES.hyperparameter_defaults)
        if diffs:
            raise CannotAdopt(
                f"{live.address} does not match {model.file}; fix the manifest to describe it:\n  - "
                + "\n  - ".join(mismatch_lines(diffs))
            )
        created = body.get("createTime", "")
        description = self.marker.adopted(model, name_of(model), body.get("description", ""), created)
        self._create_times[model.id] = created
        self._weak.discard(model.id)
        self.client.update_tuned_model(model.id, {"description": description}, ["description"])
        return live

    # --- smoke tests ----------------------------------------------------------------

    def generate(self, key: str, base_model: str, text: str) -> str:
        name = ADDRESS_TEMPLATE.format(key=key)
        if base_model.startswith(PALM_PREFIX):
            return answer_text(self.client.generate_text(name, text))
        return answer_text(self.client.generate_content(name, text))

    # --- grants ---------------------------------------------------------------------

    def grant(self, key: str, grant: PermissionChange) -> None:
        try:
            self.client.create_permission(key, permission_body(grant))
        except AlreadyExists:
            # Granted by a concurrent or crashed apply: make sure the role is right.
            self._set_existing_grant(key, grant)

    def _set_existing_grant(self, key: str, grant: PermissionChange) -> None:
        grantee = (grant.grantee_type, (grant.email_address or "").lower())
        role = grant.role_after or ""
        for live in self._permissions(key):
            if live.grantee == grantee:
                if live.role != role:
                    self.client.update_permission(live.name, role)
                return
        raise ChangeFailed(
            f"granting {role} to {grant.grantee_type} {grant.email_address} on "
            f"{RULES.address(key)}: the API says the grant exists but does not list it"
        )

    def update_grant(self, key: str, grant: PermissionChange) -> None:
        self.client.update_permission(grant.name or "", grant.role_after or "")

    def revoke(self, key: str, grant: PermissionChange) -> None:
        with suppress(NotFound):
            self.client.delete_permission(grant.name or "")

    # --- export ---------------------------------------------------------------------

    def export(self, keys: Collection[str] = ()) -> dict[str, dict[str, Any]]:
        live = [live_model(body, self.marker) for body in self.client.list_tuned_models()]
        wanted = {key_of(key) for key in keys}
        missing = wanted - {model.key for model in live}
        if missing:
            raise UserError(f"no live model {', '.join(sorted(missing))}; nothing was exported")
        return {
            model.key: manifest_for(model, self._permissions(model.key))
            for model in live
            if not wanted or model.key in wanted
        }


def answer_text(response: dict[str, Any]) -> str:
    """The text of the first candidate of generateContent or generateText."""
    candidates = response.get("candidates") or [{}]
    first = candidates[0]
    if "output" in first:  # generateText
        return str(first["output"])
    parts = (first.get("content") or {}).get("parts") or []
    return "".join(str(part.get("text", "")) for part in parts)
