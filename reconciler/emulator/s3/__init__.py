"""The Amazon S3 subset the Bedrock datasets need: path-style buckets and
objects, conditional writes, ListObjectsV2, multipart uploads and flexible
checksums, with S3's XML errors (see docs/emulator.md, "Amazon S3")."""
