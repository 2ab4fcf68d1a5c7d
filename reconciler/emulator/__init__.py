"""A local emulator of the Gemini API's tuned-model surface (see docs/emulator.md).

It is its own world: nothing here imports other reconciler layers, and only
the CLI imports it.
"""

from reconciler.emulator.faults import FaultSettings
from reconciler.emulator.server import EmulatorOptions, EmulatorServer

__all__ = ["EmulatorOptions", "EmulatorServer", "FaultSettings"]
