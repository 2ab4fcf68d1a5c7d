"""cli layer (see ARCHITECTURE in the README)."""
