"""A local emulator of the Gemini API's tuned-model surface (`gemini/`), of
Vertex AI's tuning surface (`vertex/`) and of the Cloud Storage subset its
datasets need (`gcs/`), and of the Amazon S3 subset (`s3/`), all on one port
(see docs/emulator.md). Each surface has its own route table; `app.py`
composes them over what the modules at this package's root share, and tells
an AWS request apart by its SigV4 credential scope.

It is its own world: nothing here imports other reconciler layers, and only
the CLI imports it.
"""

from reconciler.emulator.faults import FaultSettings
from reconciler.emulator.server import EmulatorOptions, EmulatorServer

__all__ = ["EmulatorOptions", "EmulatorServer", "FaultSettings"]
