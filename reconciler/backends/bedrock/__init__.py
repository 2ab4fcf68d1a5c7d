"""Amazon Bedrock model customization: everything specific to it lives in this package.

- `client`: boto3's Bedrock, Bedrock Runtime and S3 clients behind the project's
  errors and retries (boto3 is imported only when this backend connects);
- `names`: job, custom model and deployment names, and idempotency tokens;
- `tags`: ownership in tags; `live`: the join of jobs, custom models and deployments;
- `uploads`: datasets into S3 at their content address;
- `settings`, `catalogue`, `rules`, `datasets`: reconciler.yaml's block, the
  customizable base models, what the planner and `validate` need, canonical JSONL;
- `backend`: `BedrockBackend`, the actions; `export`: manifests from live models.
"""

from reconciler.backends.bedrock.backend import BedrockBackend

__all__ = ["BedrockBackend"]
