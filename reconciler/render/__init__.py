"""render layer (see ARCHITECTURE in the README)."""
