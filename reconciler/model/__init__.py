"""Types shared by every layer: manifests, settings, desired and observed state."""
