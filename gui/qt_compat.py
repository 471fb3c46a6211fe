"""A guard against two reference-counting bugs of PySide6 6.12 on Python 3.11.

Measured here (PySide6 6.12.0, CPython 3.11.7):

- every ``SignalInstance.emit(...)`` called from Python returns ``True`` without taking a reference to it,
  so each emit lowers ``True``'s reference count by one;
- every call of a ``void`` Qt method from Python (``setObjectName``, ``processEvents``, ...) and every
  Python ``QRunnable.run`` a ``QThreadPool`` runs loses one reference to ``None`` (the web scheme handler
  still uses one).

The wheels appear to be built with headers in which ``Py_RETURN_NONE``/``Py_RETURN_TRUE`` no longer take a
reference (those objects are immortal from Python 3.12 on), so on 3.11 the references leak away.

A bare interpreter holds ~150 references to ``True``; after that many emits (or a few thousand pooled
jobs) the process aborts with "Fatal Python error: bool_dealloc / none_dealloc".

``True``, ``False``, ``None`` (and ``NotImplemented``, ``Ellipsis``, returned the same way) are singletons that are never freed, so giving them a huge extra reference
count is harmless and makes the lost references irrelevant (Python 3.12 made these objects immortal for
the same reason, and is not affected). Called from ``gui/__init__.py`` so that every importer of ``gui`` is guarded.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["guard_bool_refcounts"]

_EXTRA = 1 << 60  # ~1e18 lost references: centuries at a million Qt calls per second
_done = False


def guard_bool_refcounts() -> None:
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for obj in (True, False, None, NotImplemented, Ellipsis):
        # ob_refcnt is the first field of every CPython object (a Py_ssize_t at the object's address).
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA
    _done = True
