"""Global options are accepted after the subcommand too, and `-C DIR` before it.

`reconciler plan --emulator` means `reconciler --emulator plan`: people type
the flag where they think of it, and a global flag silently dropped (and the
real API used instead of the emulator) is the worst outcome. The flags are
moved in front of the subcommand before click parses the line.

`reconciler -C DIR plan` means `reconciler plan -C DIR`, as git's `-C` comes
before its command: the repository option, which each command takes, is moved
behind the subcommand.
"""

from __future__ import annotations

GLOBAL_FLAGS = ("--emulator", "--debug")
DIR_OPTIONS = ("-C", "--dir")


def hoist_global_flags(argv: list[str]) -> list[str]:
    """`argv` with the global flags first and a leading `-C DIR` after the
    subcommand; nothing after `--` is touched."""
    end = argv.index("--") if "--" in argv else len(argv)
    head = _dir_after_command(argv[:end])
    flags = [word for word in head if word in GLOBAL_FLAGS]
    rest = [word for word in head if word not in GLOBAL_FLAGS]
    return [*flags, *rest, *argv[end:]]


def _dir_after_command(words: list[str]) -> list[str]:
    """Move `-C DIR`, `--dir DIR`, `--dir=DIR` or `-CDIR` from before the
    subcommand to just after it."""
    moved: list[str] = []
    before: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word in DIR_OPTIONS and index + 1 < len(words):
            moved += words[index : index + 2]
            index += 2
        elif word.startswith("--dir=") or (word.startswith("-C") and len(word) > 2):
            moved.append(word)
            index += 1
        elif word in GLOBAL_FLAGS:
            before.append(word)
            index += 1
        else:
            break
    if not moved or index >= len(words) or words[index].startswith("-"):
        return words  # no subcommand follows: leave the line to click's own error
    return [*before, words[index], *moved, *words[index + 1 :]]
