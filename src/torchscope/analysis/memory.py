"""Memory a model needs for inference and for a training step, from a ModelGraph."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torchscope.model.graph import ModelGraph

__all__ = ["MemoryEstimate", "estimate_memory"]


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes, by what holds them. ``training`` assumes Adam/AdamW (two states per weight).

    The training peak is taken at the start of backward: weights, gradients, optimizer
    state, every tensor autograd saved in the forward, the outputs it did not save, and the first
    gradient in flight (as large as the largest activation).
    """

    weights: int
    buffers: int
    gradients: int
    optimizer_state: int
    saved_activations: int
    outputs: int
    backward_transient: int
    inference_activations: int

    @property
    def inference(self) -> int:
        return self.weights + self.buffers + self.inference_activations

    @property
    def training(self) -> int:
        return (
            self.weights
            + self.buffers
            + self.gradients
            + self.optimizer_state
            + self.saved_activations
            + self.outputs
            + self.backward_transient
        )

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "inference": self.inference, "training": self.training}


def estimate_memory(graph: ModelGraph, optimizer_states: int = 2) -> MemoryEstimate:
    """Estimate inference and training (Adam: ``optimizer_states=2``) memory in bytes."""
    weights = sum(p.nbytes for p in graph.params if not p.is_buffer)
    buffers = sum(p.nbytes for p in graph.params if p.is_buffer)
    trainable = sum(p.nbytes for p in graph.params if p.trainable)
    largest = max((o.nbytes for op in graph.ops for o in op.outputs), default=0)
    return MemoryEstimate(
        weights=weights,
        buffers=buffers,
        gradients=trainable,
        optimizer_state=optimizer_states * trainable,
        saved_activations=graph.saved_activation_bytes,
        outputs=graph.output_bytes,
        backward_transient=largest if trainable else 0,
        inference_activations=graph.peak_activation_bytes,
    )
