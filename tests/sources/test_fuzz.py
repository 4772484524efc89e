"""Seeded mutations of valid checkpoints in every supported format, read in full.

Each damaged file is either read or refused with one CheckpointError: no other exception,
no hang (pytest-timeout), no file opened outside the input, and no code run (a file whose
pickle would run a command is among the ones damaged). Seeds are fixed, so a failure names
a case that reproduces.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.sources.corrupt import (
    rezip,
    write_legacy,
    write_safetensors,
    write_shards,
    write_torch_zip,
)
from torchscope.errors import CheckpointError
from torchscope.sources.checkpoint import open_checkpoint

CASES_PER_FORMAT = 120
_CODE_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One of: flipped bits, random bytes, an interesting 32-bit value, a cut, an
    insertion or a deletion, somewhere in ``data``."""
    out = bytearray(data)
    at = rng.randrange(len(out))
    kind = rng.randrange(6)
    if kind == 0:
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        out[at : at + 8] = rng.randbytes(len(out[at : at + 8]))
    elif kind == 2:
        value = rng.choice([0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])
        out[at : at + 4] = value.to_bytes(4, "little")[: len(out[at : at + 4])]
    elif kind == 3:
        del out[at:]
    elif kind == 4:
        out[at:at] = rng.randbytes(rng.randint(1, 64))
    else:
        del out[at : at + rng.randint(1, 64)]
    return bytes(out)


def _mutate_index(text: str, rng: random.Random) -> str:
    """A shard index with one value replaced by something hostile (``../../outside…``
    names a valid file beside the input folder)."""
    index = json.loads(text)
    weight_map = index["weight_map"]
    name = rng.choice(sorted(weight_map))
    hostile: list[Any] = [
        "../outside.safetensors", "/etc/hostname", "", 3, None, ["x"], "a" * 5000,
        "../../outside.safetensors",
        "model-00001-of-00002.safetensors/..", "\x00", "sub/../../outside.safetensors",
    ]  # fmt: skip
    choice = rng.randrange(4)
    if choice == 0:
        weight_map[name] = rng.choice(hostile)
    elif choice == 1:
        weight_map[rng.choice([*hostile[:3], "x" * 300])] = weight_map[name]
    elif choice == 2:
        index["weight_map"] = rng.choice([{}, [], "x", 1, None])
    else:
        return _mutate(text.encode(), rng).decode("latin-1")
    return json.dumps(index)


def _read_fully(path: Path) -> None:
    with open_checkpoint(path) as source:
        for _, tensor in source:
            if tensor.device.type != "meta" and tensor.layout == torch.strided:
                tensor.double().sum()


def _cases(tmp_path: Path) -> Iterator[tuple[str, Path, Callable[[random.Random], None]]]:
    """(label, the path to read, how to damage it) for every format."""
    marker = tmp_path / "payload_ran"
    valid = tmp_path / "valid"
    valid.mkdir()
    evil = {"w": torch.ones(2), "x": _Payload(marker)}
    files = {
        "safetensors": write_safetensors(valid / "w.safetensors"),
        "torch zip": write_torch_zip(valid / "w.pt"),
        "torch zip, DEFLATE": rezip(valid / "w.pt", valid / "deflated.pt", compression=8),
        "torch legacy": write_legacy(valid / "legacy.pt"),
        "torch zip, code": write_torch_zip(valid / "evil.pt", evil),
        "torch legacy, code": write_legacy(valid / "evil_legacy.pt", evil),
    }
    work = tmp_path / "input"
    work.mkdir()
    for label, source in files.items():
        original = source.read_bytes()
        target = work / f"case{source.suffix}"

        def damage(rng: random.Random, original: bytes = original, target: Path = target) -> None:
            target.write_bytes(_mutate(original, rng))

        yield label, target, damage
    shards = write_shards(work / "shards")
    index = shards / "model.safetensors.index.json"
    index_text = index.read_text()
    shard = shards / "model-00002-of-00002.safetensors"
    shard_bytes = shard.read_bytes()

    def damage_shards(rng: random.Random) -> None:
        index.write_text(index_text)
        shard.write_bytes(shard_bytes)
        if rng.random() < 0.5:
            index.write_text(_mutate_index(index_text, rng), encoding="latin-1")
        else:
            shard.write_bytes(_mutate(shard_bytes, rng))

    yield "shard directory", shards, damage_shards


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[list[str]]:
    """Every file opened outside the input folder and the installed packages, and every
    command started, while ``watching`` is set (audit hooks cannot be removed)."""
    found: list[str] = []
    allowed = [str(tmp_path / "input"), *sorted({sys.prefix, sys.base_prefix, *sys.path})]
    allowed = [a for a in allowed if a and a != "/"]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if not _watching:
            return
        if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            opened = os.path.abspath(os.fsdecode(args[0]))
            if not any(opened.startswith(a) for a in allowed):
                found.append(f"opened {opened}")
        elif event.startswith(_CODE_EVENTS):
            found.append(f"ran {event} {args!r}")

    sys.addaudithook(hook)
    yield found


_watching = False


def _native_opens(monkeypatch: pytest.MonkeyPatch, record: Callable[[str], None]) -> None:
    """safetensors and torch open files in native code, which raises no audit event."""
    import safetensors

    safe_open, from_file = safetensors.safe_open, torch.UntypedStorage.from_file

    def spied_safe_open(path: str, *args: Any, **kwargs: Any) -> Any:
        record(path)
        return safe_open(path, *args, **kwargs)

    def spied_from_file(path: str, *args: Any, **kwargs: Any) -> Any:
        record(path)
        return from_file(path, *args, **kwargs)

    monkeypatch.setattr(safetensors, "safe_open", spied_safe_open)
    monkeypatch.setattr(torch.UntypedStorage, "from_file", spied_from_file)


def _the_watch_sees(tmp_path: Path, watched: list[str]) -> None:
    """The watch is real: it records an open outside the input, native ones included, and
    a command run."""
    global _watching
    outside = write_safetensors(tmp_path / "outside.safetensors")
    _watching = True
    try:
        outside.read_bytes()
        import safetensors

        safetensors.safe_open(str(outside), framework="pt")
        os.system("true")
    finally:
        _watching = False
    assert f"opened {outside}" in watched, watched  # the audit hook
    assert str(outside) in watched, watched  # the spy on native opens
    assert any(w.startswith("ran os.system") for w in watched), watched
    watched.clear()


@pytest.mark.timeout(120)
def test_damaged_checkpoints_are_read_or_refused_and_nothing_else(
    tmp_path: Path, watched: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    global _watching
    inside = str(tmp_path / "input")
    _native_opens(
        monkeypatch,
        lambda p: None if os.path.realpath(p).startswith(inside) else watched.append(p),
    )
    _the_watch_sees(tmp_path, watched)
    outcomes: dict[str, list[int]] = {}
    for label, path, damage in _cases(tmp_path):
        counts = outcomes.setdefault(label, [0, 0])
        for seed in range(CASES_PER_FORMAT):
            damage(random.Random(f"{label}/{seed}"))
            _watching = True
            try:
                _read_fully(path)
                counts[0] += 1
            except CheckpointError as exc:
                assert "\n" not in str(exc), (label, seed, str(exc))
                counts[1] += 1
            except Exception as exc:  # pragma: no cover - the failure this test exists for
                raise AssertionError(f"{label}, seed {seed}: {type(exc).__name__}: {exc}") from exc
            finally:
                _watching = False
            assert not watched, (label, seed, watched)
    assert not (tmp_path / "payload_ran").exists()
    # the mutations reach both outcomes in every format (a fuzz that only ever refuses, or
    # only ever reads, tests little); the files whose pickles run code are all refused
    assert all(
        read > 0 and refused > 0
        for label, (read, refused) in outcomes.items()
        if "code" not in label
    ), outcomes
    assert outcomes["torch zip, code"][0] == outcomes["torch legacy, code"][0] == 0
