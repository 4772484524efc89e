"""Torch zip checkpoints: each byte read belongs to its record; what torch reads, we read.

Every damaged file here starts as a real ``torch.save`` output with one thing changed, and
each case also asks ``torch.load(weights_only=True)`` whether it reads the file.
"""

from __future__ import annotations

import sys
import warnings
import zipfile
from pathlib import Path

import pytest
import torch

from tests.sources.corrupt import patch_central, rezip, weights, write_legacy, write_torch_zip
from torchscope.errors import CheckpointError
from torchscope.sources import torch_file, zip_records
from torchscope.sources.checkpoint import open_checkpoint


def _read(path: Path) -> dict[str, torch.Tensor]:
    with open_checkpoint(path) as source:
        out = {}
        for entry, tensor in source:
            out[entry.name] = tensor.clone()
            out.update(dict.fromkeys(entry.aliases, out[entry.name]))
        return out


def _torch_reads(path: Path) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.load(path, weights_only=True)
    except Exception:
        return False
    return True


def _refused(path: Path, match: str) -> str:
    with pytest.raises(CheckpointError, match=match) as info:
        _read(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    return str(info.value)


def _record(path: Path, name: str) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as archive:
        return next(i for i in archive.infolist() if i.filename.endswith("/" + name))


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_rezipped_checkpoints_read_exactly_what_torch_reads(
    tmp_path: Path, compression: int
) -> None:
    original = write_torch_zip(tmp_path / "w.pt")
    path = rezip(original, tmp_path / f"re{compression}.pt", compression=compression)
    expected = torch.load(path, weights_only=True)
    read = _read(path)
    assert set(read) == set(expected) == set(weights())
    for name, tensor in expected.items():
        assert read[name].dtype == tensor.dtype and torch.equal(read[name], tensor), name
    with open_checkpoint(path) as source:
        assert source.entry("fc.weight").aliases == ("head.weight",)


def test_a_shortened_record_is_refused_as_torch_refuses_it(tmp_path: Path) -> None:
    original = write_torch_zip(tmp_path / "w.pt")
    first = _record(original, "data/0").filename
    path = rezip(original, tmp_path / "short.pt", lambda n, d: d[:100] if n == first else d)
    assert not _torch_reads(path)
    _refused(
        path, r"record w/data/0 holds 100 bytes but its storage needs 512 \(128 × torch.float32\)"
    )


def test_a_shrunk_directory_size_is_refused(tmp_path: Path) -> None:
    original = write_torch_zip(tmp_path / "w.pt").read_bytes()
    name = "w/data/0"
    data = patch_central(patch_central(original, name, "size", 100), name, "compressed", 100)
    path = tmp_path / "shrunk.pt"
    path.write_bytes(data)
    assert not _torch_reads(path)
    _refused(path, "holds 100 bytes but its storage needs 512")


def test_a_record_whose_bytes_run_into_the_next_record_is_refused(tmp_path: Path) -> None:
    """Its local header moved its data 40 bytes on, over the next record's header: torch
    reads those bytes as the tensor's (torch.load(mmap=True) once reported a mean of −3.7e35
    from such bytes); they are not the record's, so it is refused."""
    original = write_torch_zip(tmp_path / "w.pt")
    at = _record(original, "data/1").header_offset + 28  # the local header's extra length
    data = bytearray(original.read_bytes())
    data[at : at + 2] = (int.from_bytes(data[at : at + 2], "little") + 40).to_bytes(2, "little")
    path = tmp_path / "shifted.pt"
    path.write_bytes(bytes(data))
    assert _torch_reads(path)
    _refused(path, "record w/data/1 claims 64 bytes from offset .*, past the end of its own place")


def test_a_tensor_larger_than_its_storage_is_refused(tmp_path: Path) -> None:
    """A view whose size (in the pickle) reaches past its storage's record."""
    path = write_torch_zip(tmp_path / "w.pt", {"v": torch.arange(12.0)[:5]})
    pickle_name = _record(path, "data.pkl").filename
    marker = b"K\x05\x85"  # the size tuple (5,): BININT1 5, TUPLE1

    def grow(name: str, data: bytes) -> bytes:
        if name != pickle_name:
            return data
        assert data.count(marker) == 1
        return data.replace(marker, b"K\x0d\x85")  # 13 values in a storage of 12

    grown = rezip(path, tmp_path / "grown.pt", grow)
    _refused(grown, r"tensor 'v' reaches byte 52 of a storage of 48 bytes")


def test_a_storage_declaring_more_values_than_its_record_is_refused(tmp_path: Path) -> None:
    path = write_torch_zip(tmp_path / "w.pt", {"v": torch.arange(12.0)[:5]})
    pickle_name = _record(path, "data.pkl").filename
    marker = b"K\x0ct"  # the storage's numel 12, then TUPLE (the persistent id)

    def grow(name: str, data: bytes) -> bytes:
        if name != pickle_name:
            return data
        assert data.count(marker) == 1
        return data.replace(marker, b"K\x0dt")

    grown = rezip(path, tmp_path / "grown.pt", grow)
    assert not _torch_reads(grown)
    _refused(grown, r"holds 48 bytes but its storage needs 52")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda n, d: None if n.endswith("/version") else d, "record w/version is missing"),
        (lambda n, d: b"0" if n.endswith("/version") else d, "unsupported file format version"),
        (lambda n, d: b"99" if n.endswith("/version") else d, "unsupported file format version"),
        (lambda n, d: b"x" if n.endswith("/version") else d, "unsupported file format version"),
        (lambda n, d: b"middle" if n.endswith("/byteorder") else d, "unknown byte order"),
        (lambda n, d: b"xx" if n.endswith(".storage_alignment") else d, "not a number"),
        (lambda n, d: b"\xff" if n.endswith("serialization_id") else d, "not text"),
        (lambda n, d: None if n.endswith("/data.pkl") else d, "record w/data.pkl is missing"),
    ],
)
def test_the_small_records_are_checked_as_torch_checks_them(
    tmp_path: Path, edit: object, match: str
) -> None:
    path = rezip(write_torch_zip(tmp_path / "w.pt"), tmp_path / "edited.pt", edit)  # type: ignore[arg-type]
    assert not _torch_reads(path)
    _refused(path, match)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit is deprecated
def test_records_outside_the_folder_and_torchscript_archives_are_refused(tmp_path: Path) -> None:
    original = write_torch_zip(tmp_path / "w.pt")
    stray = tmp_path / "stray.pt"
    rezip(original, stray)
    with zipfile.ZipFile(stray, "a") as archive:
        archive.writestr("elsewhere/x", b"1")
    assert not _torch_reads(stray)
    _refused(stray, "record 'elsewhere/x' is not in the folder 'w/'")
    script = tmp_path / "script.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), script)
    assert not _torch_reads(script)
    _refused(script, "TorchScript archive")


def test_big_endian_files_are_swapped_as_torch_swaps_them(tmp_path: Path) -> None:
    original = write_torch_zip(tmp_path / "w.pt", {"a": torch.arange(6.0), "b": torch.arange(3)})
    sizes = {"w/data/0": 4, "w/data/1": 8}

    def to_big(name: str, data: bytes) -> bytes:
        if name == "w/byteorder":
            return b"big"
        size = sizes.get(name)
        if size is None:
            return data
        return b"".join(data[i : i + size][::-1] for i in range(0, len(data), size))

    path = rezip(original, tmp_path / "big.pt", to_big)
    expected = torch.load(path, weights_only=True)
    read = _read(path)
    assert torch.equal(read["a"], torch.arange(6.0)) and torch.equal(expected["a"], read["a"])
    assert torch.equal(read["b"], torch.arange(3)) and sys.byteorder == "little"


def test_a_pickle_declaring_more_than_the_limit_is_refused_before_it_is_inflated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's 1 MB file whose data.pkl inflates to 1 GiB: refused on its declared
    size, before one byte is inflated."""
    deflated = rezip(write_torch_zip(tmp_path / "w.pt"), tmp_path / "d.pt", compression=8)
    data = patch_central(deflated.read_bytes(), "w/data.pkl", "size", 1 << 30)
    path = tmp_path / "bomb.pt"
    path.write_bytes(data)

    inflate = zip_records.ZipRecords._inflate

    def checked(self: object, f: object, start: int, record: zip_records.ZipRecord) -> bytes:
        assert record.name != "data.pkl", "inflated a record declared over the limit"
        return inflate(self, f, start, record)  # type: ignore[arg-type]

    monkeypatch.setattr(zip_records.ZipRecords, "_inflate", checked)
    message = _refused(path, "declares 1,073,741,824 bytes uncompressed")
    assert f"over the limit of {torch_file.MAX_PICKLE_BYTES:,} bytes" in message


def test_a_stream_inflating_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    deflated = rezip(write_torch_zip(tmp_path / "w.pt"), tmp_path / "d.pt", compression=8)
    size = _record(deflated, "data.pkl").file_size
    path = tmp_path / "longer.pt"
    path.write_bytes(patch_central(deflated.read_bytes(), "w/data.pkl", "size", size - 10))
    _refused(path, f"inflates past its declared size of {size - 10:,} bytes")


def test_a_pickle_over_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_torch_zip(tmp_path / "w.pt")
    monkeypatch.setattr(torch_file, "MAX_PICKLE_BYTES", 100)
    _refused(path, "over the limit of 100 bytes this reader accepts")


@pytest.mark.parametrize("writer", [write_torch_zip, write_legacy])
def test_what_a_file_holds_is_named_as_it_is(tmp_path: Path, writer: object) -> None:
    """A bare tensor is one tensor (it was four, named 0…3); None and 3 hold none."""
    bare = torch.randn(4, 4)
    read = _read(writer(tmp_path / "bare.pt", bare))  # type: ignore[operator]
    assert list(read) == ["tensor"] and torch.equal(read["tensor"], bare)
    for value, kind in ((None, "NoneType"), (3, "int"), ("text", "str")):
        path = writer(tmp_path / f"{kind}.pt", value)  # type: ignore[operator]
        _refused(path, rf"it holds no tensors \(it holds a {kind}\)")


@pytest.mark.parametrize("writer", [write_torch_zip, write_legacy])
def test_a_tensor_nested_5000_lists_deep_is_one_clear_error(
    tmp_path: Path, writer: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested: object = torch.ones(2)
    for _ in range(5000):
        nested = [nested]
    monkeypatch.setattr(sys, "getrecursionlimit", sys.getrecursionlimit)  # restored after
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)  # the pickler recurses; our reader must not
    try:
        path = writer(tmp_path / "deep.pt", nested)  # type: ignore[operator]
    finally:
        sys.setrecursionlimit(limit)
    _refused(path, "its tensors are nested more than 100 containers deep")


@pytest.mark.filterwarnings("ignore::UserWarning")  # quantized and nested are deprecated
def test_sparse_and_quantized_tensors_are_read_by_torch_load(tmp_path: Path) -> None:
    sparse = torch.eye(3).to_sparse()
    quantized = torch.quantize_per_tensor(torch.arange(4.0), 0.5, 0, torch.qint8)
    path = write_torch_zip(tmp_path / "odd.pt", {"s": sparse, "q": quantized, "w": torch.ones(2)})
    read = _read(path)
    assert torch.equal(read["s"].to_dense(), torch.eye(3))
    assert torch.equal(read["q"].dequantize(), torch.arange(4.0))
    assert torch.equal(read["w"], torch.ones(2))
    nested = torch.nested.nested_tensor([torch.ones(2), torch.ones(3)])
    _refused(write_torch_zip(tmp_path / "nested.pt", {"n": nested}), "nested tensor")


def test_tensors_saved_on_meta_are_listed_without_values(tmp_path: Path) -> None:
    path = write_torch_zip(tmp_path / "meta.pt", {"m": torch.empty(3, 2, device="meta")})
    with open_checkpoint(path) as source:
        ((entry, tensor),) = list(source)
    assert entry.shape == (3, 2) and tensor.device.type == "meta"
