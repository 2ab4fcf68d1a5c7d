"""The wheel, built as a release builds it, and a fresh environment holding it.

The build runs without isolation (the build backend is in the test extra), so
it needs no network. The fresh environment gets the wheel itself with pip and
no index, and reaches its dependencies through a path to this environment's
site-packages: what runs is the installed wheel, never this checkout.
Session-wide: the distribution tests and the pre-commit hook test share one build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def only(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # A copy, so the build's own egg-info and build/ never land in the checkout.
    source = tmp_path_factory.mktemp("source") / "reconciler"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", ".reconciler", "*.egg-info", "__pycache__", ".*_cache", "build", "dist"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment holding the wheel; the folder of its executables."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(only(dist, "*.whl")),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    # The dependencies: this environment's site-packages, after the venv's own
    # (a plain path in a .pth, so this checkout's editable install stays out).
    Path(site, "_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    yield bin_dir
