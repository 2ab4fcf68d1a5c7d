"""The Vertex AI tuning surface: tuningJobs, models, endpoints and their
operations under `/{v1,v1beta1}/projects/{p}/locations/{l}`, served by the same
server, store, faults, paging and clock as the Gemini surface, from its own
route table (`surface.py`).

Its resources are documents in the shared store (see `resources.py`); a tuning
job's progress is computed from the clock (`timeline.py`), and the Model and
Endpoints it produces are made the first time a request sees it finished.
"""
