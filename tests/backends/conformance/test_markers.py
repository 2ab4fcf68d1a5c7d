"""What every backend must do with ownership markers, whatever its marker is
(the Gemini description trailer, Vertex labels):

- A marker copied onto a model the reconciler did not make never makes it
  managed: it is never deleted, even when prune would delete the id it copies.
- With RECONCILER_OWNERSHIP_KEY set, a valid unsigned marker (anyone can write
  one: the algorithm is public) is never trusted for anything destructive.

Each through the CLI (plan and apply end to end), and through the protocol
alone: the pure planner on what `observe` reads, and `delete` on what `find`
returns."""

from __future__ import annotations

from pathlib import Path

from reconciler.plan.types import Action
from tests.backends.conformance.surfaces import Surface
from tests.backends.conformance.world import World

KEY = {"RECONCILER_OWNERSHIP_KEY": "conformance-" + "k" * 24}


def test_a_copied_marker_never_gets_a_hand_made_model_deleted(surface: Surface, tmp_path: Path) -> None:
    with World(surface, tmp_path, ids=("alpha", "beta"), step_seconds=0) as world:
        repo, emulator = world.repo, world.emulator
        assert surface.cli(repo, emulator, "apply", "--yes").code == 0
        stranger = surface.copy_marker(emulator, "alpha")
        assert surface.cli(repo, emulator, "plan", "--detailed-exitcode").code == 0  # nothing of alpha changed
        world.remove("alpha")  # prune deletes what alpha owns, and only that
        assert surface.cli(repo, emulator, "apply", "--yes", "--prune").code == 0
        assert stranger in surface.models(emulator)


def test_with_a_key_a_valid_unsigned_marker_is_never_destroyed(surface: Surface, tmp_path: Path) -> None:
    with World(surface, tmp_path, ids=("alpha", "beta", "gamma"), step_seconds=0) as world:
        repo, emulator = world.repo, world.emulator
        assert surface.cli(repo, emulator, "apply", "--yes", **KEY).code == 0
        forged = surface.forge_unsigned(emulator, repo, "gamma")
        world.remove("gamma")  # prune would delete a model gamma truly owned
        applied = surface.cli(repo, emulator, "apply", "--yes", "--prune", **KEY)
        assert forged in surface.models(emulator), applied.text


def test_a_copied_marker_makes_no_model_managed(surface: Surface, tmp_path: Path) -> None:
    with World(surface, tmp_path, step_seconds=0) as world:
        world.apply()
        stranger = surface.copy_marker(world.emulator, "alpha")
        observed = world.backend().observe(world.desired())
        assert [m.key for m in observed.models if m.managed] == ["alpha"]
        assert not world.apply().outcomes  # nothing to do: the copy changes nothing
        world.remove("alpha")
        assert [(o.action, o.model_id) for o in world.apply().outcomes] == [(Action.DELETE, "alpha")]
        assert surface.models(world.emulator) == {stranger}


def test_with_a_key_a_valid_unsigned_marker_is_trusted_for_nothing_destructive(
    surface: Surface, tmp_path: Path
) -> None:
    with World(surface, tmp_path, ids=("alpha", "gamma"), step_seconds=0, env=KEY) as world:
        world.apply()
        ours = surface.models(world.emulator)
        forged = surface.forge_unsigned(world.emulator, world.repo, "gamma")
        world.apply()  # gamma still declared: its model stays the one it is
        assert surface.models(world.emulator) == ours | {forged}
        observed = world.backend().observe(world.desired())
        assert sorted(m.key for m in observed.models if m.ownership and not m.ownership.legacy) == ["alpha", "gamma"]
        world.remove("gamma")
        world.apply()  # prune deletes what gamma truly owned, and only that
        assert forged in surface.models(world.emulator)
        assert len(surface.models(world.emulator)) == 2  # alpha's and the forged one
