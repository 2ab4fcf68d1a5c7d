"""apply layer (see ARCHITECTURE in the README)."""
