"""The wheel and the sdist, built as a release builds them, installed into a fresh environment.

The build and the environment are tests/packaging/conftest.py's: no network,
and what runs is the installed wheel, never this checkout (checked).
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

from reconciler import __version__
from tests.github.workflows import fast_emulator_reconciler

from .conftest import ROOT, only

DIST_NAME = "gemini-tuning-reconciler"


def test_the_wheel_metadata_is_complete(dist: Path) -> None:
    wheel = only(dist, "*.whl")
    assert wheel.name == f"{DIST_NAME.replace('-', '_')}-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"{DIST_NAME.replace('-', '_')}-{__version__}.dist-info"
        metadata = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert metadata["Name"] == DIST_NAME
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Requires-Python"] == ">=3.11"
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    assert {url.split(",")[0] for url in metadata.get_all("Project-URL")} >= {"Source", "Changelog"}
    assert "orjson" not in " ".join(r for r in metadata.get_all("Requires-Dist") if "extra" not in r)
    assert f"{info}/licenses/LICENSE" in names
    assert "reconciler/py.typed" in names
    assert "reconciler = reconciler.cli.main:main" in entry_points


def test_the_sdist_holds_the_license_and_the_typing_marker(dist: Path) -> None:
    sdist = only(dist, "*.tar.gz")
    assert sdist.name == f"{DIST_NAME.replace('-', '_')}-{__version__}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "reconciler/py.typed"} <= names


def run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_", "PYTHON"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [str(bin_dir / "reconciler"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_installed_command_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    version = run(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"reconciler, version {__version__}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}  # no PYTHONPATH to a checkout
    where = subprocess.run(
        [str(installed / "python"), "-c", "import reconciler; print(reconciler.__file__)"],
        cwd=tmp_path,
        env=clean,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)


def test_the_readme_loop_runs_from_the_wheel_on_a_copy_of_the_examples(installed: Path, tmp_path: Path) -> None:
    for folder in ("manifests", "datasets"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    settings = (ROOT / "reconciler.yaml").read_text(encoding="utf-8")
    (tmp_path / "reconciler.yaml").write_text(settings + "\npollIntervalSeconds: 0.01\n", encoding="utf-8")
    # The wheel's code, its embedded emulator's clock sped up (the console
    # script itself is run by the test above).
    fast = fast_emulator_reconciler(installed / "python", tmp_path / "fast-bin")
    first = run(fast, "--emulator", "reconcile", "--yes", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "2 created" in first.stdout + first.stderr
    again = run(fast, "--emulator", "reconcile", "--yes", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "No changes" in again.stdout + again.stderr


def test_the_readme_install_names_the_wheel_the_build_writes(dist: Path) -> None:
    # README, "Install": until a release is published, a clone or the built wheel.
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Install", 1)[1].split("\n## ", 1)[0]
    wheel = only(dist, "*.whl").name
    assert wheel == f"gemini_tuning_reconciler-{__version__}-py3-none-any.whl"
    assert f"python3 -m build    # writes dist/{wheel}" in section
    assert f"pipx install dist/{wheel}" in section
    assert "**No release is published yet**" in section
