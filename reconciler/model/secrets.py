"""Secrets out of text: every form a secret can take in a message.

A library that rejects a secret quotes it in its own way: `repr` escapes a
newline as `\\n`, JSON escapes it as `\\n` or `\\u000a`, a URL percent-encodes
it. Replacing only the raw string would let those forms through, so each
secret is scrubbed in all of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

from reconciler.model.signing import key_strings

REDACTED = "[REDACTED]"
# Shorter strings are too likely to occur by chance to be worth redacting.
MIN_SECRET_CHARS = 4


def secret_forms(secret: str) -> set[str]:
    """`secret` as it may appear in a message: raw, repr-, JSON- and URL-escaped."""
    forms = {
        secret,
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(secret),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every form of every secret replaced by [REDACTED]."""
    forms = {form for secret in secrets if secret for form in secret_forms(secret)}
    for form in sorted(forms, key=len, reverse=True):  # longest first: one form may contain another
        text = text.replace(form, REDACTED)
    return text


# The keys that sign ownership markers (signing.KEY_VARIABLE), for every backend, are
# secrets; each backend names its own secret variables (BackendClass.secret_variables).


def secrets_in_env(env: Mapping[str, str], variables: Iterable[str] = ()) -> tuple[str, ...]:
    """The secret values the environment holds (the ownership keys, and the values
    of `variables`), for scrubbing from any output."""
    keys = [value for name in variables if (value := env.get(name, "").strip())]
    keys += key_strings(env)
    return tuple(keys)
