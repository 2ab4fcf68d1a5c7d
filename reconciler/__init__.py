"""reconciler: a declarative, GitOps-style reconciler for Gemini tuned models."""

__version__ = "0.1.0"
