"""Errors that Terrafind shows to people.

Every expected problem is a :class:`TerrafindError` whose message is one sentence a conservationist can
act on ("This file has no embedding column; found: id, geometry"). Technical detail (an exception text,
a path of offsets) goes in ``detail`` and is shown only on request.
"""

from __future__ import annotations

__all__ = ["TerrafindError", "InputError", "CacheError", "ImageryError", "Cancelled"]


class TerrafindError(Exception):
    """Base of every expected, user-facing problem."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class InputError(TerrafindError):
    """A file, folder, region or example that Terrafind cannot use as given."""


class CacheError(TerrafindError):
    """A cache file that is damaged or belongs to other data (callers rebuild it)."""


class ImageryError(TerrafindError):
    """Imagery that cannot be read for a thumbnail or a basemap."""


class Cancelled(Exception):  # noqa: N818 - a state, not a failure
    """Raised inside a long job when its cancel token was set."""
