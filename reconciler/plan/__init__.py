"""plan layer (see ARCHITECTURE in the README)."""
