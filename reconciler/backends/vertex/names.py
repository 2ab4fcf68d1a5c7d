"""How Vertex AI names things, and where its API lives."""

from __future__ import annotations

ADDRESS_TEMPLATE = "vertex/{key}"
# A Model the reconciler does not manage has no manifest id: people (and
# `export`/`import`) name it by its server id, which never clashes with a
# manifest's own model (Vertex creates never take a client-chosen id).
UNMANAGED_PREFIX = "model-"


def host_for(location: str) -> str:
    """google-genai's rule: global on the global host, us/eu on the regional
    endpoints, a region on its own host."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in ("us", "eu"):
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def without_version(name: str) -> str:
    """`…/models/123@1` -> `…/models/123`: a model-level PATCH or DELETE."""
    return name.partition("@")[0]


def last_segment(name: str) -> str:
    return name.rstrip("/").rpartition("/")[2]


def unmanaged_key(model_name: str) -> str:
    return UNMANAGED_PREFIX + last_segment(without_version(model_name))
