"""The Cloud Storage surface's route table (the JSON API's paths, served
without credentials as its emulators are)."""

from __future__ import annotations

from reconciler.emulator.gcs.service import Faults, StorageService
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.routing import Route, storage
from reconciler.emulator.store import Store

BUCKET = "/storage/v1/b/<id:bucket>"
OBJECT = f"{BUCKET}/o/<path:object_name>"
UPLOAD = "/upload/storage/v1/b/<id:bucket>/o"
COMMON = (
    "userProject",
    "projection",
    "generation",
    "ifGenerationMatch",
    "ifGenerationNotMatch",
    "ifMetagenerationMatch",
    "ifMetagenerationNotMatch",
    "softDeleted",
)
UPLOADS = (*COMMON, "name", "uploadId", "predefinedAcl", "kmsKeyName", "contentEncoding")
LIST = (
    "prefix",
    "delimiter",
    "maxResults",
    "pageToken",
    "projection",
    "versions",
    "userProject",
    "includeTrailingDelimiter",
    "startOffset",
    "endOffset",
    "matchGlob",
    "softDeleted",
    "includeFoldersAsPrefixes",
)
BUCKET_INSERT = ("project", "predefinedAcl", "predefinedDefaultObjectAcl", "projection", "userProject")


class StorageSurface:
    def __init__(self, store: Store, ids: IdMaker, faults: Faults | None = None) -> None:
        self.service = StorageService(store, ids, faults)

    def routes(self) -> tuple[Route, ...]:
        gcs = self.service
        return (
            storage("POST", "/storage/v1/b", gcs.insert_bucket, *BUCKET_INSERT, "enableObjectRetention"),
            storage("GET", BUCKET, gcs.get_bucket, *COMMON),
            storage("GET", f"{BUCKET}/o", gcs.list_objects, *LIST),
            storage("GET", OBJECT, gcs.get_object, *COMMON),
            storage("DELETE", OBJECT, gcs.delete_object, *COMMON),
            storage("GET", f"/download{OBJECT}", gcs.download_object, *COMMON),
            storage("POST", UPLOAD, gcs.upload, *UPLOADS, raw=True),
            storage("PUT", UPLOAD, gcs.resume, *UPLOADS, raw=True),
        )
