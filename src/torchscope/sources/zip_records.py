"""The records of a torch zip file, each a range of bytes that belongs to it alone.

``torch.save`` writes a zip archive: ``<folder>/data.pkl`` (the pickle), ``<folder>/data/<key>``
(one record per storage) and small records (``version``, ``byteorder``…). A hostile file
can make its directory point anywhere, so the directory is parsed here with the checks
torch's zip reader (miniz) makes, and each record is checked before it is read: it starts
with a local header, and its bytes end before the next record (or the directory) begins.
A compressed (DEFLATE) record, which ``torch.load`` also reads, is inflated to exactly its
declared size and never from bytes past its own place. CRCs are not checked: torch builds
miniz without those checks, so a flipped bit in a tensor is read by both.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from torchscope.errors import CheckpointError

__all__ = ["ZipRecord", "ZipRecords", "said"]

_END = struct.Struct("<4sHHHHIIH")  # end of central directory
_END64_LOCATOR = struct.Struct("<4sIQI")
_END64 = struct.Struct("<4sQHHIIQQQQ")
_ENTRY = struct.Struct("<4sHHHHHHIIIHHHHHII")  # central directory entry
_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # local file header
_U32 = 0xFFFFFFFF
_STORED, _DEFLATED = 0, 8
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipRecord:
    """One record: where its data lies in the file, and how large it is.

    ``size`` is the uncompressed size; a ``stored`` record is its own data, the others
    are DEFLATE streams of ``compressed_size`` bytes, all before ``limit``.
    """

    name: str
    header_offset: int
    compressed_size: int
    size: int
    stored: bool
    limit: int  # where the next record (or the central directory) starts


class ZipRecords:
    """The records of one zip file under its top-level folder, by name inside that folder.

    Like ``torch.load``, the folder is the first record's, and every record must be in it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._open() as f:
            self.file_size = f.seek(0, 2)
            entries = _central_directory(f, self.file_size, path)
        first = entries[0].name
        if "/" not in first:
            raise CheckpointError(path, f"record {first[:80]!r} is not in a folder")
        self.prefix = first.partition("/")[0] + "/"
        self._records: dict[str, ZipRecord] = {}
        for entry in entries:
            name = entry.name.removeprefix(self.prefix)
            if name == entry.name or not name:
                raise CheckpointError(
                    path, f"record {entry.name[:80]!r} is not in the folder {self.prefix!r}"
                )
            if name in self._records:
                raise CheckpointError(path, f"the record {entry.name[:80]!r} appears twice")
            self._records[name] = replace(entry, name=name)

    def __contains__(self, name: object) -> bool:
        return name in self._records

    def record(self, name: str) -> ZipRecord:
        """The record ``name`` (CheckpointError when there is none)."""
        record = self._records.get(name)
        if record is None:
            raise CheckpointError(self.path, f"the record {self.prefix}{name} is missing")
        return record

    def data_offset(self, record: ZipRecord) -> int:
        """Where a stored record's bytes start, after checking its local header."""
        with self._open() as f:
            return self._start(f, record)

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The uncompressed bytes of record ``name``, refused when declared over ``limit``."""
        record = self.record(name)
        if limit is not None and record.size > limit:
            raise CheckpointError(
                self.path, f"the record {self.prefix}{name} declares {record.size:,} bytes "
                f"uncompressed, over the limit of {limit:,} bytes this reader accepts"
            )  # fmt: skip
        if record.size == 0:  # nothing to read (torch reads nothing either)
            return b""
        with self._open() as f:
            start = self._start(f, record)
            data = f.read(record.size) if record.stored else self._inflate(f, start, record)
        if len(data) != record.size:
            raise CheckpointError(self.path, f"the record {self.prefix}{name} is truncated")
        return data

    def _open(self) -> BinaryIO:
        try:
            return open(self.path, "rb")
        except OSError as exc:
            raise CheckpointError(self.path, f"cannot open it ({exc.strerror or exc})") from None

    def _start(self, f: BinaryIO, record: ZipRecord) -> int:
        where = f"record {self.prefix}{record.name}"
        f.seek(record.header_offset)
        head = f.read(_LOCAL.size)
        if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
            raise CheckpointError(self.path, f"{where} does not start with a local header")
        fields = _LOCAL.unpack(head)
        start = record.header_offset + _LOCAL.size + fields[9] + fields[10]
        end = start + record.compressed_size
        if end > record.limit and (record.stored or start >= record.limit):
            raise CheckpointError(
                self.path, f"{where} claims {record.compressed_size:,} bytes from offset "
                f"{start:,}, past the end of its own place in the file ({record.limit:,})"
            )  # fmt: skip
        f.seek(start)
        return start

    def _inflate(self, f: BinaryIO, start: int, record: ZipRecord) -> bytes:
        """A DEFLATE stream inflated to at most its declared size, reading only its own bytes."""
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        parts: list[bytes] = []
        left = min(record.compressed_size, record.limit - start)
        produced, pending = 0, b""
        try:
            while produced < record.size and not inflater.eof:
                if not pending:
                    pending = f.read(min(_CHUNK, left)) if left > 0 else b""
                    if not pending:
                        break
                    left -= len(pending)
                part = inflater.decompress(pending, record.size - produced)
                pending = inflater.unconsumed_tail
                produced += len(part)
                parts.append(part)
            more = b"" if inflater.eof else inflater.decompress(pending or f.read(min(64, left)), 1)
        except zlib.error as exc:
            raise CheckpointError(
                self.path, f"the record {self.prefix}{record.name} is not a valid DEFLATE "
                f"stream ({exc})"
            ) from None  # fmt: skip
        if more:
            raise CheckpointError(
                self.path, f"the record {self.prefix}{record.name} inflates past its "
                f"declared size of {record.size:,} bytes"
            )  # fmt: skip
        return b"".join(parts)


def _central_directory(f: BinaryIO, file_size: int, path: Path) -> list[ZipRecord]:
    """The directory's entries, checked as miniz checks them, each with its place's end."""
    directory, count, size = _end_of_directory(f, file_size, path)
    f.seek(directory)
    data = f.read(size)
    if len(data) != size:
        raise CheckpointError(path, "the zip directory is truncated")
    found: list[tuple[str, int, int, int, int]] = []
    position = 0
    for _ in range(count):
        if size - position < _ENTRY.size or data[position : position + 4] != b"PK\x01\x02":
            raise CheckpointError(path, "the zip directory is damaged")
        fields = _ENTRY.unpack_from(data, position)
        flags, method, compressed, size_, name_length, extra_length, comment_length = (
            fields[3], fields[4], fields[8], fields[9], fields[10], fields[11], fields[12]
        )  # fmt: skip
        disk, offset = fields[13], fields[16]
        end = position + _ENTRY.size + name_length + extra_length + comment_length
        if end > size:
            raise CheckpointError(path, "the zip directory is damaged")
        raw = data[position + _ENTRY.size : position + _ENTRY.size + name_length]
        try:
            name = raw.decode("utf-8")  # torch hands record names to Python as text
        except UnicodeDecodeError:
            raise CheckpointError(path, f"a record name is not UTF-8 ({raw[:80]!r})") from None
        extra = data[position + _ENTRY.size + name_length : end - comment_length]
        size_, compressed, offset = _zip64_sizes(extra, size_, compressed, offset)
        problem = _entry_problem(flags, method, compressed, size_, disk, offset, file_size)
        if problem:
            raise CheckpointError(path, f"record {name[:80]!r} {problem}")
        found.append((name, offset, compressed, size_, method))
        position = end
    if not found:
        raise CheckpointError(path, "the zip file holds no records")
    starts = sorted({entry[1] for entry in found})
    if len(starts) != len(found) or starts[-1] >= directory:
        raise CheckpointError(path, "the zip directory's records overlap or lie past it")
    limits = dict(zip(starts, [*starts[1:], directory], strict=True))
    return [
        ZipRecord(name, offset, compressed, size_, method == _STORED, limits[offset])
        for name, offset, compressed, size_, method in found
    ]


def _end_of_directory(f: BinaryIO, file_size: int, path: Path) -> tuple[int, int, int]:
    """Where the central directory starts, how many entries it has, and its size in bytes."""
    tail_start = max(0, file_size - (0xFFFF + _END.size))
    f.seek(tail_start)
    tail = f.read()
    at = tail.rfind(b"PK\x05\x06", 0, max(0, len(tail) - _END.size + 4))
    if at < 0:
        raise CheckpointError(path, "not a readable zip file (no end of central directory)")
    _, disk, directory_disk, on_disk, count, size, offset, _ = _END.unpack_from(tail, at)
    end_at = tail_start + at
    total_disks = 1
    locator_at = end_at - _END64_LOCATOR.size
    if locator_at >= _END64.size:
        f.seek(locator_at)
        signature, _, end64_at, total_disks = _END64_LOCATOR.unpack(f.read(_END64_LOCATOR.size))
        if signature == b"PK\x06\x07":
            if end64_at > file_size - _END64.size:
                raise CheckpointError(path, "not a readable zip file (bad zip64 locator)")
            f.seek(end64_at)
            end64 = _END64.unpack(f.read(_END64.size))
            if end64[0] == b"PK\x06\x06":
                disk, directory_disk, on_disk, count, size, offset = end64[4:10]
                if total_disks != 1:
                    raise CheckpointError(path, "a multi-disk zip file, which torch does not read")
    if count != on_disk or (disk | directory_disk and (disk, directory_disk) != (1, 1)):
        raise CheckpointError(path, "a multi-disk zip file, which torch does not read")
    if size < count * _ENTRY.size or offset + size > file_size or size > _U32:
        raise CheckpointError(path, "the zip directory's size or place is wrong")
    return offset, count, size


def _zip64_sizes(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from the zip64 extra field where the 32-bit fields hold 0xFFFFFFFF."""
    if _U32 not in (size, compressed, offset):
        return size, compressed, offset
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, position)
        body = extra[position + 4 : position + 4 + length]
        if tag == 0x0001:
            values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            wanted = [size == _U32, compressed == _U32, offset == _U32]
            filled = [values.pop(0) if want and values else None for want in wanted]
            size = filled[0] if filled[0] is not None else size
            compressed = filled[1] if filled[1] is not None else compressed
            offset = filled[2] if filled[2] is not None else offset
            break
        position += 4 + length
    return size, compressed, offset


def _entry_problem(
    flags: int, method: int, compressed: int, size: int, disk: int, offset: int, file_size: int
) -> str:
    """What is wrong with one directory entry (miniz's checks, and the methods it reads)."""
    if method not in (_STORED, _DEFLATED):
        return f"uses compression method {method}; torch reads only stored and DEFLATE"
    if (method == _STORED and compressed != size) or (size and not compressed):
        return f"has inconsistent sizes ({compressed:,} bytes for {size:,})"
    if disk == 0xFFFF or disk > 1:
        return "is on another disk of a multi-disk zip file"
    if offset + _LOCAL.size + compressed > file_size:
        return "lies past the end of the file"
    if flags & 0x2041:  # encrypted, strongly encrypted, or a masked local header
        return "is encrypted"
    return ""


def said(exc: BaseException) -> str:
    """An exception as ``Type: first line`` (the type alone when it has no message)."""
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
