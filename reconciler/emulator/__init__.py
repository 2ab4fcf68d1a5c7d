"""emulator layer (see ARCHITECTURE in the README)."""
