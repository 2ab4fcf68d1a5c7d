"""The backend conformance suite (issue 23): what every backend must do,
checked through the `Backend` protocol alone, on every backend's emulator.

- `surfaces.py`: what differs per backend (its emulator, repository,
  connection, request tap, counts, and reaching under its marker); a new
  backend adds a Surface and nothing else.
- `world.py`, `clock.py`, `taps.py`: one case's emulator on a virtual clock,
  backends made as new processes, and stopping a backend between requests.
- `scenarios.py`: each action (create, wait, update, delete, forget, adopt,
  find) with the state it starts from and the outcome it must reach.
- `test_repeat.py`: each action twice is the action once.
- `test_crashes.py`: an action crashed (or its answer lost) at each of its
  requests, run again, converges.
- `test_concurrent.py` (`interleave.py`): two creates of one id interleaved make one model.
- `test_markers.py`: copied and forged ownership markers are refused.
- `test_taps.py`: each Surface's tap reaches its backend's requests (else the
  crash cases would pass having stopped nothing).
"""
