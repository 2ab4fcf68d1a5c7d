"""Amazon Bedrock model customization: everything specific to it lives in this package.

- `settings`: reconciler.yaml's `bedrock:` block; `catalogue` (catalogue.json):
  the base models Bedrock customizes, and how;
- `rules`: what the planner and `validate` need; `formats`: each base model's
  training data format; `datasets`: the canonical JSONL uploaded to S3.

Nothing here imports boto3: the modules above are what `validate` and `plan`
read before any connection.
"""
