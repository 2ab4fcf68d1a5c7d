"""The Gemini API's `tunedModels`: everything specific to it lives in this package.

- `client`: the HTTP calls; `requests`: the bodies they send;
- `trailer`: ownership in the description; `live`: API bodies -> neutral live state;
- `rules`: what the planner and `validate` need (fields, masks, defaults);
- `backend`: `GeminiBackend`, the actions; `progress`, `export`: their helpers.
"""

from reconciler.backends.gemini.backend import GeminiBackend
from reconciler.backends.gemini.rules import RULES, manifest_problems

__all__ = ["RULES", "GeminiBackend", "manifest_problems"]
