"""TagResource, UntagResource and ListTagsForResource on a job, a custom model
or a deployment, by ARN. A job's tags are its `jobTags`; a custom model's
start as the `customModelTags` of the job that made it; a deployment's as its
`tags`. At most 50 a resource (TooManyTagsException); a key tagged again
takes the new value."""

from __future__ import annotations

from reconciler.emulator.bedrock import errors, shapes
from reconciler.emulator.bedrock.resources import Bedrock, region_of, serialized
from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.store import Document

TAGGABLE = (
    r".*(^[a-zA-Z0-9][a-zA-Z0-9\-]*$)|(^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/(imported)/"
    r"[a-z0-9]{12}$)|(^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:([0-9]{12}|)((:(fine-tuning-job|model-customization-job|"
    r"custom-model)/[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}"
    r"(/[a-z0-9]{12})$)|(:guardrail/[a-z0-9]+$)|(:automated-reasoning-policy/[a-zA-Z0-9]+(:[a-zA-Z0-9]+)?$)|"
    r"(:(inference-profile|application-inference-profile)/[a-zA-Z0-9-:.]+$)|(:project/(proj_[a-z2-7]{20}|default)$)|"
    r"(:(provisioned-model|model-invocation-job|model-evaluation-job|evaluation-job|model-import-job|imported-model|"
    r"async-invoke|provisioned-model-v2|provisioned-model-reservation|prompt-router|custom-model-deployment)/"
    r"[a-z0-9]{12}$))).*"
)


class TagService:
    def __init__(self, bedrock: Bedrock) -> None:
        self.bedrock = bedrock

    @serialized
    def tag_resource(self, call: Call) -> Reply:
        body = shapes.parse(call.body, shapes.TAG_RESOURCE)
        kind, resource = self._resource(call, body["resourceARN"])
        merged = {tag["key"]: tag["value"] for tag in resource["tags"]}
        merged.update({tag["key"]: tag["value"] for tag in body["tags"]})
        tags = [{"key": key, "value": value} for key, value in merged.items()]
        self.bedrock.check_tag_count(tags, body["resourceARN"])
        resource["tags"] = tags
        self.bedrock.save(kind, resource)
        return 200, {}

    @serialized
    def untag_resource(self, call: Call) -> Reply:
        body = shapes.parse(call.body, shapes.UNTAG_RESOURCE)
        kind, resource = self._resource(call, body["resourceARN"])
        resource["tags"] = [tag for tag in resource["tags"] if tag["key"] not in set(body["tagKeys"])]
        self.bedrock.save(kind, resource)
        return 200, {}

    def list_tags(self, call: Call) -> Reply:
        body = shapes.parse(call.body, shapes.LIST_TAGS)
        _, resource = self._resource(call, body["resourceARN"])
        return 200, {"tags": resource["tags"]}

    def _resource(self, call: Call, arn: str) -> tuple[str, Document]:
        shapes.check_text(arn, shapes.Text(20, 1011, TAGGABLE), "resourceARN")
        self.bedrock.settle(call.now)
        found = self.bedrock.by_arn(arn)
        if found is None or found[1]["region"] != region_of(call):  # [infer] the text
            raise errors.not_found(f"Could not find the resource {arn[:300]}.")
        return found
