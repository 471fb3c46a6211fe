"""Filesystems for remote GeoParquet: built by Terrafind from a plain, allowed address, never from a URI.

``pyarrow.fs.FileSystem.from_uri`` takes its options from the address itself (``endpoint_override``,
``scheme``, credentials...), so a file naming ``s3://b/x?endpoint_override=HOST`` would make pyarrow sign a
request with the user's AWS keys and send it to HOST. Here the options are fixed: anonymous requests,
AWS/Google endpoints, short timeouts; the user's own credentials only for a bucket they marked for them
(:meth:`terrafind.core.net.gate.NetGate.uses_credentials`).

:func:`filesystem_for` returns an object with the reader's two or three calls that takes and returns full
addresses (``s3://bucket/key``), so sources keep one name per file everywhere (messages, cache keys,
provenance).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from terrafind.core.net.gate import gate
from terrafind.core.net.http import HttpFileSystem
from terrafind.core.net.locations import Remote

__all__ = ["filesystem_for", "CONNECT_TIMEOUT", "REQUEST_TIMEOUT"]

CONNECT_TIMEOUT = 3.0
REQUEST_TIMEOUT = 15.0


class _BucketFs:
    """An S3 or GCS filesystem spoken to with full addresses (``s3://bucket/key``)."""

    def __init__(self, fs: Any, scheme: str) -> None:
        self.fs = fs
        self.prefix = f"{scheme}://"

    def _inner(self, url: str) -> str:
        return url[len(self.prefix) :] if url.startswith(self.prefix) else url

    def _outer(self, info: Any) -> Any:
        import pyarrow.fs as pafs

        return pafs.FileInfo(self.prefix + info.path, info.type, size=info.size)

    def get_file_info(self, what: Any) -> Any:
        import pyarrow.fs as pafs

        if isinstance(what, pafs.FileSelector):
            found = self.fs.get_file_info(pafs.FileSelector(self._inner(what.base_dir), recursive=False))
            return [self._outer(i) for i in found]
        return self._outer(self.fs.get_file_info(self._inner(what)))

    def open_input_file(self, url: str) -> Any:
        return self.fs.open_input_file(self._inner(url))


def filesystem_for(remote: Remote) -> Any:
    """The filesystem to read ``remote`` (already allowed by the gate) with fixed, safe options."""
    import pyarrow.fs as pafs

    signed = gate().uses_credentials(remote.site)
    if remote.scheme == "s3":
        region = None
        try:
            region = pafs.resolve_s3_region(remote.host)
        except (OSError, ValueError):
            pass  # the read below names the problem
        fs = pafs.S3FileSystem(
            anonymous=not signed,
            region=region,
            connect_timeout=CONNECT_TIMEOUT,
            request_timeout=REQUEST_TIMEOUT,
        )
        return _BucketFs(fs, "s3")
    if remote.scheme == "gs":
        fs = pafs.GcsFileSystem(anonymous=not signed, retry_time_limit=_dt.timedelta(seconds=REQUEST_TIMEOUT))
        return _BucketFs(fs, "gs")
    return HttpFileSystem(remote, timeout=REQUEST_TIMEOUT)
