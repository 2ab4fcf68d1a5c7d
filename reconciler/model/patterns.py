"""Regular expressions a user wrote, run with a time bound.

A smoke test's `regex` is matched against a model's answer: both come from
outside, and a pattern such as `(a|aa)+$` backtracks for longer than the age
of the universe on a long enough answer. The `regex` package can stop a match
after a timeout, and with `concurrent=True` it releases the GIL while it
works, so the main thread still handles SIGTERM and Ctrl-C during a match.
"""

from __future__ import annotations

from reconciler.model.errors import ReconcilerError

# Ample for any sane pattern against a model's answer; a pathological one
# fails its smoke test after this long instead of hanging apply. `regex`
# counts the match's CPU time, so on a busy machine the wall time is longer.
MATCH_TIMEOUT_SECONDS = 2.0


class PatternTimeout(ReconcilerError):
    """A match took longer than its time bound."""


def compile_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used, or None when it compiles."""
    import regex  # here, not at the top: only smoke tests with a `regex` need it (8 ms of every start-up)

    try:
        regex.compile(pattern)
    except regex.error as exc:
        return f"regex does not compile: {exc}"
    except (OverflowError, RecursionError, MemoryError, ValueError):
        return "regex does not compile: too large or nested too deeply"
    return None


def search(pattern: str, text: str, timeout: float | None = None) -> bool:
    """True if `pattern` is found in `text`; PatternTimeout when that takes
    longer than `timeout` (default MATCH_TIMEOUT_SECONDS, read at each call)."""
    import regex  # on first use, as in compile_problem

    if timeout is None:
        timeout = MATCH_TIMEOUT_SECONDS

    try:
        return regex.search(pattern, text, timeout=timeout, concurrent=True) is not None
    except TimeoutError:
        raise PatternTimeout(f"regex {pattern!r} took longer than {timeout:g} s to match the answer") from None
