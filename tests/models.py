"""Cheap toy models for edge cases: tied weights, shared modules, odd inputs and outputs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    def __init__(self, d_in: int = 20, hidden: int = 30, d_out: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class TiedLM(nn.Module):
    """Embedding and output head share one weight, as in GPT-2."""

    def __init__(self, vocab: int = 50, dim: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.body = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.body(self.embed(ids))))


class SharedTwice(nn.Module):
    """One Linear applied twice, and registered under two names."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Linear(6, 6)
        self.alias = self.block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(F.relu(self.block(x)))


@dataclass
class PairOutput:
    mean: torch.Tensor
    extras: dict[str, torch.Tensor]
    note: str = "plain values pass through"


class DictInDataclassOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(5, 3)

    def forward(self, batch: dict[str, torch.Tensor], scale: float = 1.0) -> PairOutput:
        ya, yb = self.a(batch["left"]), self.b(batch["right"])
        return PairOutput(mean=(ya + yb) * scale, extras={"left": ya, "pair": yb})


class DataDependent(nn.Module):
    """Takes a branch that depends on tensor values."""

    def __init__(self) -> None:
        super().__init__()
        self.pos = nn.Linear(4, 4)
        self.neg = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return self.pos(x)
        return self.neg(x)


class BrokenMiddle(nn.Module):
    """The middle layer expects the wrong width: the forward fails there."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(8, 16)
        self.middle = nn.Sequential(nn.ReLU(), nn.Linear(12, 4))
        self.last = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.middle(self.first(x)))


class Stack(nn.Module):
    """Five identical blocks in a ModuleList, plus a different last one."""

    def __init__(self, dim: int = 16, n: int = 5) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Sequential(nn.Linear(dim, dim), nn.GELU()) for _ in range(n)]
            + [nn.Sequential(nn.Linear(dim, 4))]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class TinyAttention(nn.Module):
    """Self-attention through F.scaled_dot_product_attention."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class DemoMLP(nn.Sequential):
    """The first demo's MLP (Flatten → Linear(784, 256) → ReLU → Dropout → Linear(256, 10)),
    kept for the summary golden files demo_80.txt and demo_120.txt (the demo now trains
    torchscope.examples.SimpleNet)."""

    def __init__(self, hidden: int = 256, classes: int = 10) -> None:
        super().__init__(
            nn.Flatten(),
            nn.Linear(28 * 28, hidden),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(hidden, classes),
        )


class TinyUNet(nn.Module):
    """A two-level UNet whose one ``pool`` is called after ``enc1`` and after ``enc2``."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = nn.Sequential(nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU())
        self.up2 = nn.ConvTranspose2d(2 * c, 2 * c, 2, stride=2)
        self.dec2 = nn.Conv2d(4 * c, c, 3, padding=1)
        self.up1 = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.dec1 = nn.Conv2d(2 * c, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottleneck(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        return self.dec1(torch.cat([self.up1(d2), e1], dim=1))


class SharedActBlock(nn.Module):
    """A depthwise-separable block that reuses one ``act`` after ``bn1`` and after ``bn2``."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.pw = nn.Conv2d(c, 2 * c, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * c)
        self.act = nn.ReLU6()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn2(self.pw(self.act(self.bn1(self.dw(x))))))
