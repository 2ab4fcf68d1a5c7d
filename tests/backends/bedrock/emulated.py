"""The project's own emulator (its Bedrock and S3 surfaces) as a test `Service`,
where it is installed (issue 24's emulator branch; until it is merged, the
flow tests run on moto's server alone).

Read through unmodified boto3, as any client would, and moved by its injected
clock: `tick` is a minute of the emulator's time, so a job moves through
InProgress to Completed and a deployment from Creating to Active with no real
sleep. Only the controls the portable flow tests use are here (no faults).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from tests.backends.bedrock.service import BUCKET, REGION

TICK_SECONDS = 60.0


class EmulatorService:
    def __init__(self) -> None:
        from reconciler.emulator import EmulatorOptions, EmulatorServer

        self.now = 1_000_000.0
        options = EmulatorOptions(seed=0, step_seconds=1.0, s3_buckets=(BUCKET,))  # type: ignore[call-arg]
        self.server = EmulatorServer(options, clock=self._clock, sleep=self._sleep).start()
        self.url = self.server.url
        self.bedrock = boto3.client("bedrock", endpoint_url=self.url, region_name=REGION)
        self.s3 = boto3.client("s3", endpoint_url=self.url, region_name=REGION)

    def _clock(self) -> float:
        return self.now

    def _sleep(self, seconds: float) -> None:
        self.now += seconds

    def stop(self) -> None:
        self.server.stop()

    def tick(self) -> None:
        self.now += TICK_SECONDS

    def _tags(self, arn: str) -> dict[str, str]:
        return {t["key"]: t["value"] for t in self.bedrock.list_tags_for_resource(resourceARN=arn)["tags"]}

    def jobs(self) -> list[dict[str, Any]]:
        listed = self.bedrock.list_model_customization_jobs(maxResults=1000)["modelCustomizationJobSummaries"]
        jobs = []
        for summary in listed:
            job = self.bedrock.get_model_customization_job(jobIdentifier=summary["jobArn"])
            jobs.append(
                {
                    "jobName": job["jobName"],
                    "status": job["status"],
                    "jobArn": job["jobArn"],
                    "token": job.get("clientRequestToken"),
                    "tags": self._tags(job["jobArn"]),
                    "request": {
                        "hyperParameters": job.get("hyperParameters"),
                        "customizationType": job.get("customizationType"),
                    },
                }
            )
        return jobs

    def models(self) -> dict[str, dict[str, str]]:
        listed = self.bedrock.list_custom_models(maxResults=1000)["modelSummaries"]
        return {m["modelName"]: self._tags(m["modelArn"]) for m in listed}

    def deployments(self) -> dict[str, dict[str, Any]]:
        listed = self.bedrock.list_custom_model_deployments(maxResults=1000)["modelDeploymentSummaries"]
        return {
            d["customModelDeploymentName"]: {**d, "tags": self._tags(d["customModelDeploymentArn"])} for d in listed
        }

    def objects(self, bucket: str = BUCKET) -> dict[str, bytes]:
        listed = self.s3.list_objects_v2(Bucket=bucket).get("Contents") or []
        return {o["Key"]: self.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}

    def requests(self) -> Counter[str]:
        raise NotImplementedError("the emulator counts by route; the portable tests do not count")
