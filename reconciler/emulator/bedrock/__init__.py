"""Amazon Bedrock model customization (the control plane: customization jobs,
custom models, custom model deployments, tags) and the runtime's Converse and
InvokeModel on a deployment, as botocore's service models `bedrock/2023-04-20`
and `bedrock-runtime/2023-09-30` shape them (see docs/emulator.md, "Amazon
Bedrock")."""
