"""Which SQLite journal a run file can use where it lies.

WAL mode (the default: readers never block the writer) keeps its index in shared memory
beside the file, which works only when every process sits on the same host. On a shared
network filesystem (NFS, Lustre, CIFS, GPFS…, common on clusters) a reader on another node
would see a corrupt or stale index, so there the writer uses the rollback journal instead
(``DELETE``: readers briefly wait for a commit, each commit costs one more sync). The
filesystem type comes from ``/proc/self/mounts`` (Linux); elsewhere WAL is kept.
``TORCHSCOPE_JOURNAL=wal|delete`` overrides the choice.

Example:
    >>> mounts = "server:/home /home nfs4 rw 0 0\\n/dev/sda1 / ext4 rw 0 0\\n"
    >>> filesystem_of(Path("/home/me/runs/x"), mounts)
    'nfs4'
    >>> journal_mode_for(Path("/home/me/runs/x"), mounts)
    'delete'
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["NETWORK_FILESYSTEMS", "filesystem_of", "journal_mode_for"]

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "lustre", "cifs", "smb3", "smbfs", "gpfs", "beegfs", "ceph",
        "glusterfs", "fuse.glusterfs", "fuse.sshfs", "fuse.cephfs", "9p", "afs", "ocfs2",
        "gfs2", "pvfs2", "orangefs", "wekafs", "fuse.juicefs", "fuse.gcsfuse", "fuse.s3fs",
    }
)  # fmt: skip
_MOUNTS = Path("/proc/self/mounts")
_OVERRIDE = "TORCHSCOPE_JOURNAL"


def filesystem_of(path: Path, mounts: str | None = None) -> str | None:
    """The type of the filesystem holding ``path`` (the longest mount point above it)."""
    if mounts is None:
        try:
            mounts = _MOUNTS.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    target = os.path.abspath(path)
    best, kind = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")  # mounts escapes spaces as octal
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def journal_mode_for(path: Path, mounts: str | None = None) -> str:
    """``"wal"`` on a local filesystem, ``"delete"`` on a shared network one."""
    override = os.environ.get(_OVERRIDE, "").strip().lower()
    if override in ("wal", "delete"):
        return override
    return "delete" if filesystem_of(path, mounts) in NETWORK_FILESYSTEMS else "wal"
