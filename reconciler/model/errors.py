"""The root of every error the reconciler raises on purpose.

The CLI prints a `ReconcilerError` as one line and exits 1; anything else is a
bug and gets a hint to re-run with --debug.
"""

from __future__ import annotations


class ReconcilerError(Exception):
    """An expected failure with a message a person can act on."""


class UserError(ReconcilerError):
    """Bad input: manifests, datasets, settings or command-line arguments."""
