"""Observed state, in terms every backend shares.

A backend decodes what its API returns into these values: the manifest id a
live model belongs to, how people address it, its ownership (already decoded
from the backend's marker), a neutral state, and the values of its fields
keyed by manifest path. `handle` is the backend's own: the planner and the
executor never look inside it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import ConfigDict, Field

from reconciler.model.compact import Compact
from reconciler.model.manifest import Customization
from reconciler.model.ownership import Ownership


class LiveState(str, Enum):
    CREATING = "CREATING"  # tuning runs (or is queued): wait, never create again
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"


class Live(Compact):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Reported(Live):
    """What the service reported for the run that made a model, bound to the
    dataset it tuned on (`data`: the ownership fingerprint's data part, the
    start of the dataset digest). None where the service does not say."""

    data: str
    tokens: int | None = None  # billable tokens of one pass over the data (Vertex AI)
    steps: int | None = None  # training steps of the whole run
    epochs: int | None = None
    # One-based indices, in the uploaded order, of the examples the service
    # truncated, and the reason it gives for each (Vertex AI).
    truncated: tuple[int, ...] = ()
    reasons: tuple[str, ...] = ()


class LiveModel(Live):
    key: str  # the manifest id (metadata.name) this model is, or would be, declared by
    address: str  # how people name it (the Gemini backend: its resource name)
    ownership: Ownership | None = None  # None: the reconciler does not manage it
    # Why a marker on this model was not trusted (copied, edited, signed with
    # another key): such a model is unmanaged, and the plan says why. With a
    # `legacy` ownership: why it is trusted only where that destroys nothing.
    ownership_note: str | None = None
    state: LiveState = LiveState.ACTIVE
    source: str = ""  # what it was tuned from, as a manifest writes it
    source_key: str | None = None  # the key of the tuned model it was tuned from
    base_model: str = ""  # the base model at the root of its chain
    # How it was made from its source (spec.customization), and the teacher it
    # was distilled from; a backend that only fine-tunes leaves the defaults.
    customization: str = Customization.FINE_TUNING.value
    teacher_model: str | None = None
    # The mutable fields by manifest path (spec.displayName, ...), as the API
    # returns them; None where it returns nothing.
    fields: dict[str, Any] = Field(default_factory=dict)
    # The hyperparameters the server used, by manifest key (defaults included).
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    # What a mutable field goes back to when a manifest leaves it out, by
    # manifest path (Gemini: the base model's temperature, topP and topK). A
    # path missing here is left alone when undeclared.
    defaults: dict[str, Any] = Field(default_factory=dict)
    create_time: str = ""
    update_time: str = ""
    # Progress, where the backend read it: a plan's observe reads none (0, ()),
    # status the last step and loss, a wait or an adoption the whole curve.
    step: int = 0  # the last training step reported
    # The state in the service's own words, for people (Vertex AI: the tuning
    # job's RUNNING, SUCCEEDED, ...); "" where `state` says it already.
    state_words: str = ""
    losses: tuple[float, ...] = ()  # the loss curve so far (or its last point)
    # What callers of the tuned model use, where the backend serves it apart
    # from the model itself (Vertex AI: {"model": …, "endpoint": …}); the plan
    # JSON and `status --output json` publish it.
    serving: dict[str, str] = Field(default_factory=dict)
    # Earlier models of this id still live that serve nobody (a replace stopped
    # before removing them), by the backend's name: the plan removes them.
    superseded: tuple[str, ...] = ()
    # Why the live model cannot serve as it is although its run succeeded (its
    # endpoint is gone): only a new run mends it.
    broken: str = ""
    # The promotion gate's result recorded on the current model (the candidate
    # while there is one): {"digest": evaluation digest, "score": the gate
    # metric's score as 4 digits (0800 = 0.800), "held": "true" when it failed
    # its gate and the model serving before keeps serving}; and the same read
    # from the model that serves, when that is another one.
    evaluation: dict[str, str] = Field(default_factory=dict)
    serving_evaluation: dict[str, str] = Field(default_factory=dict)
    # The current model is a candidate beside another model that serves (its
    # smoke tests or gate have not passed): `serving` names the other one.
    candidate: bool = False
    # What a person must act on although nothing differs from the manifest (its
    # base model retires soon), in words; the plan shows them as notices.
    notices: tuple[str, ...] = ()
    # What the service reported for the run that made the current model, where
    # it succeeded and the backend read it: later plans of the same dataset
    # estimate from it (docs/plan-json.md, "Estimates").
    reported: Reported | None = None
    handle: Any = Field(default=None, exclude=True)  # the backend's own reference

    @property
    def id(self) -> str:
        return self.key

    @property
    def managed(self) -> bool:
        return self.ownership is not None

    @property
    def held(self) -> bool:
        """The current model failed its promotion gate and is kept beside the one serving."""
        return self.evaluation.get("held") == "true"

    @property
    def last_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None


class LivePermission(Live):
    name: str  # the backend's name of the grant
    role: str  # OWNER | WRITER | READER
    grantee_type: str = ""  # USER | GROUP | EVERYONE
    email_address: str = ""

    @property
    def grantee(self) -> tuple[str, str]:
        return (self.grantee_type, self.email_address.lower())


class Observed(Live):
    """Everything read from the API for one plan, read whole or not at all."""

    models: tuple[LiveModel, ...]
    # Permissions of the models whose manifests declare permissions, by model key.
    permissions: dict[str, tuple[LivePermission, ...]] = Field(default_factory=dict)

    def by_id(self) -> dict[str, LiveModel]:
        return {m.key: m for m in self.models}
