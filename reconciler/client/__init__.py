"""client layer (see ARCHITECTURE in the README)."""
