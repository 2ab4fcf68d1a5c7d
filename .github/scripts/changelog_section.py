"""Print the CHANGELOG.md section of one version: the notes of its GitHub release.

    python .github/scripts/changelog_section.py v0.1.0 [CHANGELOG.md]

The section is what lies between `## [0.1.0]` (a date may follow) and the next
`## ` heading, without the heading itself (the release has its own title) and
without the link definitions at the end of the file. A version with no
section, or an empty one, is an error (exit code 1): a release must never go
out with empty or wrong notes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\]")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s")


def section(changelog: str, version: str) -> str:
    """The body of `version`'s section (a leading `v` is allowed); ValueError if absent or empty."""
    wanted = version.removeprefix("v")
    lines: list[str] | None = None
    for line in changelog.splitlines():
        heading = _HEADING.match(line)
        if lines is not None and (line.startswith("## ") or _LINK_DEFINITION.match(line)):
            break
        if heading and heading["version"] == wanted:
            lines = []
        elif lines is not None:
            lines.append(line)
    if lines is None:
        raise ValueError(f"CHANGELOG.md has no section '## [{wanted}]'")
    body = "\n".join(lines).strip()
    if not body:
        raise ValueError(f"CHANGELOG.md's section '## [{wanted}]' is empty")
    return body + "\n"


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: changelog_section.py VERSION [CHANGELOG.md]", file=sys.stderr)
        return 1
    path = Path(argv[1] if len(argv) == 2 else "CHANGELOG.md")
    try:
        sys.stdout.write(section(path.read_text(encoding="utf-8"), argv[0]))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
