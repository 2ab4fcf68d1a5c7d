"""What a tuning run costs, from a manifest and a backend's defaults.

One formula for `validate`, `plan` and `status`: the steps are
ceil(examples * epochs / batch size), as the Gemini API's operation metadata
reports them; a hyperparameter the manifest leaves out takes the backend's
default.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.desired import DesiredModel


@dataclass(frozen=True)
class TuningDefaults:
    """The values a backend's server uses when a manifest leaves them out."""

    epoch_count: int
    batch_size: int  # where the server chooses by dataset size, the smaller: more, safer steps
    # False where the service has no batch-size setting (Vertex AI): the
    # manifest cannot set it, and no footnote speaks of it.
    batch_size_is_setting: bool = True
    # True where the service counts steps per epoch, a part-filled last batch
    # being a step (Vertex AI): ceil(examples / batch) x epochs.
    steps_per_epoch: bool = False

    def epochs(self, model: DesiredModel) -> int:
        return model.manifest.spec.hyperparameters.epoch_count or self.epoch_count

    def batch(self, model: DesiredModel) -> int:
        return model.manifest.spec.hyperparameters.batch_size or self.batch_size

    def total_steps(self, model: DesiredModel) -> int:
        if self.steps_per_epoch:
            return -(-model.dataset.examples // self.batch(model)) * self.epochs(model)
        return -(-model.dataset.examples * self.epochs(model) // self.batch(model))

    def training_tokens(self, model: DesiredModel) -> int:
        """The one definition of tokens `validate` and `plan` show: the dataset's
        estimated tokens times the epochs (every epoch trains on every example)."""
        return model.dataset.estimated_tokens * self.epochs(model)

    def assumed(self, model: DesiredModel) -> bool:
        """Whether the manifest leaves epochs or batch size to the server."""
        hyperparameters = model.manifest.spec.hyperparameters
        if not self.batch_size_is_setting:
            return hyperparameters.epoch_count is None
        return hyperparameters.epoch_count is None or hyperparameters.batch_size is None
