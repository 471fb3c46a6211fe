"""What a location string names, read the way GDAL and pyarrow would read it: a local file or a remote one.

Data files, projects and packs name places to read (``source_url``, ``sources``, ``imagery``, tile
templates). GDAL and pyarrow accept far more than plain paths and URLs: leading spaces, upper-case
schemes, ``/vsicurl_streaming/``, ``/vsizip//vsicurl/...``, ``zip+https://``, ``ftp://``, ``az://``,
connection strings (``WMS:...``, ``GPKG:...``), inline XML datasets, URL query options that rewire a
filesystem (``s3://b/x?endpoint_override=HOST``). :func:`locate` accepts exactly two shapes and refuses
the rest with one sentence:

* **remote**: a plain ``https://``, ``http://``, ``s3://`` or ``gs://`` address (any case, surrounding
  white space removed) with a host, no user name or password, no query, no fragment, no backslash;
* **local**: a file path (absolute, relative, ``~``, a Windows drive path, or ``file:///path``).

Whether a remote address may be fetched, and a local one read, is the gate's business
(:mod:`terrafind.core.net.gate`); this module only says what a string is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from terrafind.core.errors import InputError

__all__ = ["Remote", "Local", "Refused", "locate", "locate_local", "is_remote_text", "REMOTE_SCHEMES"]

REMOTE_SCHEMES = ("https", "http", "s3", "gs")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?)*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]$")
_IPV6 = re.compile(r"^\[[0-9a-f:.]+\]$")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")  # C:\ or C:/ - a Windows path, not a scheme
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_LENGTH = 4096


class Refused(InputError):
    """A location Terrafind will not read; the message says why in one sentence."""


@dataclass(frozen=True)
class Remote:
    """A plain remote address. ``site`` is what permissions are given for: ``https://host[:port]``,
    ``http://host[:port]``, ``s3://bucket`` or ``gs://bucket``."""

    scheme: str
    host: str  # the host name (http/https) or the bucket (s3/gs), lower case
    port: int | None
    path: str  # what follows the host, starting with "/" ("" when none)
    url: str  # the address rebuilt from the parts above: what is handed to readers

    @property
    def site(self) -> str:
        if self.scheme in ("s3", "gs"):
            return f"{self.scheme}://{self.host}"
        default = _DEFAULT_PORTS[self.scheme]
        port = "" if self.port in (None, default) else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}"

    @property
    def host_port(self) -> tuple[str, int] | None:
        """(host, port) a TCP connection goes to for http(s); None for buckets (the SDK decides)."""
        if self.scheme in _DEFAULT_PORTS:
            return self.host.strip("[]"), self.port or _DEFAULT_PORTS[self.scheme]
        return None


@dataclass(frozen=True)
class Local:
    """A local file path (not checked for existence)."""

    path: Path


def _short(text: str) -> str:
    text = _CONTROL.sub("?", text)
    return text if len(text) <= 80 else text[:60] + "..." + text[-16:]


def _refuse(text: str, why: str) -> Refused:
    return Refused(f"Terrafind does not read '{_short(text)}': {why}")


def locate(text: str, *, what: str = "") -> Remote | Local:
    """What ``text`` names: a :class:`Remote` address or a :class:`Local` path; anything else raises
    :class:`Refused` with one sentence. ``what`` (e.g. "imagery") is not used in the sentence yet but
    documents the call site."""
    if not isinstance(text, str):
        raise _refuse(str(text), "it is not a file name or an address.")
    if len(text) > MAX_LENGTH:
        raise _refuse(text, "it is far too long to be a file name or an address.")
    s = text.strip()
    if not s:
        raise Refused("An empty location was given where a file or an address is needed.")
    if _CONTROL.search(s):
        raise _refuse(text, "it contains line breaks or control characters.")
    low = s.lower()
    if low.startswith("/vsi") or "/vsi" in low:
        raise _refuse(
            text,
            "GDAL virtual paths (/vsi...) are not accepted; give a local file or a plain https://, s3:// or "
            "gs:// address.",
        )
    if s.startswith(("<", "{", "[")):
        raise _refuse(text, "it is an inline dataset description, not a file or an address.")
    if s.startswith(("\\\\", "//")) or low.startswith("\\\\?"):
        raise _refuse(text, "network shares are not read directly; copy the file to this computer first.")
    if _DRIVE.match(s):
        return Local(Path(s))
    m = _SCHEME.match(s)
    if m is None:
        return Local(Path(s).expanduser())
    scheme = m.group(1).lower()
    if scheme == "file":
        return _file_url(text, s)
    if scheme not in REMOTE_SCHEMES:
        if "://" in s:
            raise _refuse(
                text,
                f"{scheme}:// addresses are not read; Terrafind reads local files and plain https://, "
                "s3:// and gs:// addresses.",
            )
        raise _refuse(text, f"'{scheme}:' connection strings are not accepted; give a file or an address.")
    return _remote(text, s, scheme)


def _file_url(text: str, s: str) -> Local:
    parts = urlsplit(s)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise _refuse(text, "file:// addresses must name a file on this computer (file:///path).")
    return Local(Path(unquote(parts.path)))


def _remote(text: str, s: str, scheme: str) -> Remote:
    if "\\" in s:
        raise _refuse(text, "addresses may not contain backslashes.")
    if not s[len(scheme) :].startswith("://"):
        raise _refuse(text, f"it is not a {scheme}:// address.")
    try:
        parts = urlsplit(s)
        port = parts.port
    except ValueError:
        raise _refuse(text, "its host or port cannot be read.") from None
    if "@" in parts.netloc:
        raise _refuse(text, "addresses with a user name or password are not accepted.")
    if parts.query or parts.fragment or "?" in s or "#" in s:
        raise _refuse(
            text,
            "addresses with options after '?' or '#' are not accepted (they can redirect where data is "
            "read and where credentials go); give the plain address.",
        )
    host = (parts.hostname or "").lower()
    if scheme in ("s3", "gs"):
        if port is not None or not _BUCKET.match(host) or ".." in host:
            raise _refuse(text, f"'{host}' is not a {scheme} bucket name.")
    elif not (_HOST.match(host) or _IPV6.match(f"[{host}]") and ":" in host):
        raise _refuse(text, "it names no valid host.")
    if port is not None and not 0 < port < 65536:
        raise _refuse(text, "its port is out of range.")
    path = parts.path
    if scheme in ("s3", "gs") and not path.strip("/"):
        raise _refuse(text, "it names a bucket but no file in it.")
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port is None else f"{shown_host}:{port}"
    return Remote(scheme, host, port, path, f"{scheme}://{netloc}{path}")


def locate_local(text: str) -> Local:
    """``text`` as a local path; :class:`Refused` for addresses and every form :func:`locate` refuses."""
    loc = locate(text)
    if not isinstance(loc, Local):
        raise _refuse(text, "it is an address, not a file on this computer.")
    return loc


def is_remote_text(text: str) -> bool:
    """True when ``text`` would be read over the network by GDAL or pyarrow (refused forms included):
    anything with a scheme other than ``file``, any ``/vsi`` path, network shares."""
    try:
        return isinstance(locate(text), Remote)
    except Refused:
        s = str(text).strip().lower()
        return (
            bool(_SCHEME.match(s) and not s.startswith("file:"))
            or "/vsi" in s
            or s.startswith(("\\\\", "//"))
        )
