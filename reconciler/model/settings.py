"""Repository-wide settings from `reconciler.yaml` (everything that is not per model).

The neutral keys are declared here; each installed backend adds its own block
(`vertex:`), or, for the first backend, its keys at the top level. `settings_type`
composes the two, so the loader, `validate` and `reconciler schema settings`
all check one type, and a backend shipped as its own package needs no change here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import cache, partial
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, create_model, field_validator, model_validator

from reconciler.model.manifest import Flag, Number, Strict
from reconciler.model.registry import DEFAULT_BACKEND, installed, load_backend

LOOPBACK_NAMES = ("localhost",)

# Upper bounds keep every duration within what sockets and thread waits
# accept (a larger float overflows a C timeval) and within reason.
MAX_REQUEST_TIMEOUT_SECONDS = 3600.0
MAX_OPERATION_TIMEOUT_SECONDS = 7 * 24 * 3600.0
MAX_POLL_INTERVAL_SECONDS = 3600.0


# Every evaluation example is one inference call on the candidate and one on
# the model serving now, at each replace: the cap keeps that cost in sight.
DEFAULT_EVALUATION_MAX_EXAMPLES = 1_000
MAX_EVALUATION_MAX_EXAMPLES = 100_000


class EvaluationSettings(Strict):
    """Limits of `spec.evaluation` (docs/promotion-gates.md)."""

    max_examples: int = Field(
        DEFAULT_EVALUATION_MAX_EXAMPLES,
        ge=1,
        le=MAX_EVALUATION_MAX_EXAMPLES,
        strict=True,
        description="The most examples an evaluation set may hold (validate refuses more).",
    )
    concurrency: int = Field(
        4,
        ge=1,
        le=16,
        strict=True,
        description="Inference calls in flight at once while one model is scored.",
    )


class BudgetSettings(Strict):
    """Training tokens a plan may spend (docs/plan-json.md, "Budget"); unset: no limit."""

    max_training_tokens: int | None = Field(
        None,
        ge=1,
        strict=True,
        description="The most training tokens one plan may spend: the sum over every create and replace.",
    )
    max_training_tokens_per_model: int | None = Field(
        None,
        ge=1,
        strict=True,
        description="The most training tokens one tuning run of a plan may spend.",
    )


class Settings(Strict):
    backend: str = Field(
        DEFAULT_BACKEND, description="The tuning service the manifests drive: an installed backend's name."
    )
    quota_project: str | None = Field(None, description="Sent as x-goog-user-project with ADC.")
    manifests: str = Field("manifests", description="Folder of manifests, inside the repository.")
    prune: Flag = Field(False, description="Delete managed models that no manifest describes.")
    max_deletions: int = Field(5, ge=0, strict=True, description="An apply stops before deleting more than this.")
    concurrency: int = Field(4, ge=1, le=64, strict=True)
    request_timeout_seconds: Number = Field(30.0, gt=0, le=MAX_REQUEST_TIMEOUT_SECONDS)
    operation_timeout_seconds: Number = Field(4 * 3600.0, gt=0, le=MAX_OPERATION_TIMEOUT_SECONDS)
    poll_interval_seconds: Number = Field(5.0, gt=0, le=MAX_POLL_INTERVAL_SECONDS)
    evaluation: EvaluationSettings = Field(
        default_factory=EvaluationSettings,
        description="Limits of the models' evaluation sets (spec.evaluation).",
    )
    budget: BudgetSettings = Field(
        default_factory=BudgetSettings,
        description="Training tokens a plan may spend; a plan over budget is an error and applies nothing.",
    )
    dataset_cache: Flag = Field(
        False,
        description="Keep the checks of clean datasets in .reconciler/, by file content hash: "
        "an unchanged dataset is hashed but not parsed again.",
    )
    # Each entry of the chosen backend's `target_block` type (settings_type).
    targets: tuple[Any, ...] = Field(
        (),
        description="Targets besides the backend block's that a manifest may choose (spec.target), "
        "each a shard of its own: Vertex AI a project and location, Amazon Bedrock a region "
        "(and a role of another account); docs/shards.md.",
    )
    apply_ref: str | None = Field(
        None,
        min_length=1,
        description="In GitHub Actions, the only ref apply and reconcile run on (a branch name, a full "
        "refs/... ref, or * for any); default: the repository's default branch.",
    )

    @field_validator("quota_project", "manifests", "apply_ref")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # A NUL byte breaks every file system call; a newline would split a header.
        if value is not None and not value.isprintable():
            raise ValueError("must not contain control characters (a NUL byte, a newline, ...)")
        return value

    def block(self) -> Strict | None:
        """The chosen backend's own block (`vertex:`), as its backend declares it;
        None for a backend whose settings are inline or that has none."""
        value = getattr(self, self.backend, None)
        return value if isinstance(value, Strict) else None


@cache
def settings_type(backend: str = DEFAULT_BACKEND) -> type[Settings]:
    """reconciler.yaml's type when `backend:` names `backend`: the neutral keys and
    that backend's block. Other installed backends' blocks are accepted unread, so
    a repository can keep one while it moves between backends; only the chosen
    backend is imported. Raises UnknownBackend."""
    others: dict[str, Any] = {
        name: (Any, Field(None, description=f"The settings of `backend: {name}` (not chosen: not read)."))
        for name in installed()
        if name != backend
    }
    return _composed(f"Settings[{backend}]", (backend,), others, required=True)


def parse_settings(data: Mapping[str, Any]) -> Settings:
    """reconciler.yaml's mapping as the settings of the backend it chooses
    (the loader does the same with file, line and field in its errors)."""
    backend = data.get("backend", DEFAULT_BACKEND)
    return settings_type(backend if isinstance(backend, str) else DEFAULT_BACKEND).model_validate(data)


@cache
def schema_type() -> type[Settings]:
    """reconciler.yaml's type with every installed backend's block, for its JSON schema."""
    return _composed("Settings", tuple(installed()), {}, required=False)


def _composed(title: str, backends: tuple[str, ...], fields: dict[str, Any], *, required: bool) -> type[Settings]:
    """Settings with the backends' blocks: inline ones as base classes, the others as
    fields under the backend's name (`required`: the one chosen backend's must be given)."""
    bases: list[type[Strict]] = [_Chosen if required else Settings]
    for name in backends:
        kind = load_backend(name)
        if required:
            fields["targets"] = _targets_field(name, kind.target_block)
        block: type[Strict] | None = kind.settings_block
        if block is None:
            continue
        if kind.settings_inline:
            bases.append(block)
        elif required:
            needed = AfterValidator(partial(_block_given, name))
            fields[name] = (
                Annotated[block | None, needed],
                Field(None, validate_default=True, description=block.__doc__),
            )
        else:
            fields[name] = (block | None, Field(None, description=block.__doc__))
    base = bases[0] if len(bases) == 1 else type(title, tuple(bases), {"__module__": __name__})
    return create_model(title, __base__=base, __module__=__name__, **fields)


class _Chosen(Settings):
    """The settings of one chosen backend: its targets are checked as a whole."""

    @model_validator(mode="after")
    def _distinct_targets(self) -> _Chosen:
        load_backend(self.backend).shards(self)  # a ValueError for a target listed twice: each is one shard
        return self


def _targets_field(backend: str, entry: type[Strict] | None) -> tuple[Any, Any]:
    """`targets:` of the chosen backend: its entries' type, or none allowed for a
    backend with one target (the Gemini API: the key's project)."""
    description = Settings.model_fields["targets"].description
    if entry is None:
        refused = AfterValidator(partial(_no_targets, backend))
        return Annotated[tuple[Any, ...], refused], Field((), description=description)
    return tuple.__class_getitem__((entry, ...)), Field((), description=description)


def _no_targets(backend: str, targets: tuple[Any, ...]) -> tuple[Any, ...]:
    if targets:
        raise ValueError(f"backend: {backend} has one target; targets: is not used")
    return targets


def _block_given(backend: str, block: Strict | None) -> Strict:
    if block is None:
        raise ValueError(f"backend: {backend} needs a `{backend}:` block")
    return block


def endpoint_problem(url: str, *, example: str = "https://api.example.com", key_variable: str = "") -> str | None:
    """Why `url` is not a usable API endpoint, or None; `example` is shown as a
    good one, `key_variable` as where a credential goes instead.

    The message never repeats the URL: a mistyped one may still hold a password.
    """
    if not url.isprintable() or any(c.isspace() for c in url):
        return "must be a URL without spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError:
        return f"must be a URL such as {example}"
    del port
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        where = f"; give the API key in {key_variable}" if key_variable else ""
        return "must not hold credentials (user:password@)" + where
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"must be an https:// URL such as {example}"
    if parts.path not in ("", "/") or parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must be a scheme and host only (no path, query or fragment); the API version is apiVersion"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "must use https: plain http would send the credentials in clear (http is allowed to loopback only)"
    return None


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
