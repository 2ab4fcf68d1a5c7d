"""A backend for a made-up tuning service, plugged in the way a team's own would be.

It lives in this one folder and registers itself through the
`reconciler.backends` entry-point group (tests/backends/test_plugin.py writes
the entry point); nothing in reconciler/ names it. The service is a JSON file:
a create tunes at once, answers echo their input. docs/adding-a-backend.md walks
through it.
"""

from tests.backends.ledger.backend import LedgerBackend

__all__ = ["LedgerBackend"]
