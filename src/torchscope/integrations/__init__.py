"""Framework integrations (optional extras): import the submodule you need.

``torchscope.integrations.lightning.TorchscopeCallback`` for PyTorch Lightning and
``torchscope.integrations.transformers.TorchscopeTrainerCallback`` for the transformers
Trainer. Importing this package loads neither framework.
"""

from __future__ import annotations

__all__: list[str] = []
