"""Global options are accepted after the subcommand too.

`reconciler plan --emulator` means `reconciler --emulator plan`: people type
the flag where they think of it, and a global flag silently dropped (and the
real API used instead of the emulator) is the worst outcome. The flags are
moved in front of the subcommand before click parses the line.
"""

from __future__ import annotations

GLOBAL_FLAGS = ("--emulator", "--debug")


def hoist_global_flags(argv: list[str]) -> list[str]:
    """`argv` with the global flags first; nothing after `--` is touched."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [word for word in argv[:end] if word in GLOBAL_FLAGS]
    rest = [word for word in argv[:end] if word not in GLOBAL_FLAGS]
    return [*flags, *rest, *argv[end:]]
