"""Where models and tensors come from: model specs and checkpoints read safely.

No analysis here: a spec becomes an ``nn.Module`` with example inputs, a checkpoint a
``TensorSource`` that yields its tensors one at a time without running code.
"""
