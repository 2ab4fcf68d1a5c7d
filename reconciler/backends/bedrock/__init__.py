"""Amazon Bedrock model customization: everything specific to it lives in this package.

- `settings`: reconciler.yaml's `bedrock:` block; `catalogue` (catalogue.json):
  the base models Bedrock customizes, and how;
- `rules`: what the planner and `validate` need; `formats`: each base model's
  training data format; `datasets`: the canonical JSONL uploaded to S3;
- `client`: boto3's Bedrock, Bedrock Runtime and S3 clients behind the
  project's errors and retries; `uploads`: datasets into S3 at their content
  address, If-None-Match: *;
- `names`: job, custom model and deployment names, and idempotency tokens;
  `tags`: ownership in tags; `live`: the join of customization jobs, custom
  models and deployments into live models;
- `backend`: `BedrockBackend`, the actions; `export`: manifests from live models.

Nothing here imports boto3 at import: the modules above are what `validate`
and `plan` read before any connection, and `client` imports it when the
backend connects (without it, the error names the extra to install).
"""

from reconciler.backends.bedrock.backend import BedrockBackend

__all__ = ["BedrockBackend"]
