"""The subset of the Cloud Storage JSON API that tuning datasets need: bucket
get and insert; object upload (media, multipart, resumable; `ifGenerationMatch`
on all three), metadata, download, list and delete. google-cloud-storage talks
to it through `STORAGE_EMULATOR_HOST`; the Vertex surface reads its datasets
from the same store."""
