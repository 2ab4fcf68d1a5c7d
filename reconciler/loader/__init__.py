"""loader layer (see ARCHITECTURE in the README)."""
