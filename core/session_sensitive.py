"""Sensitive places (a part of :class:`terrafind.core.session.Session`, in a file of its own).

A project can be marked sensitive: then precise coordinates leave the app only after the person unlocks
them for the session (never saved: every session starts locked). Until then exports must be blurred to
a grid (:mod:`terrafind.core.export.blur`) and field packs, which carry every chip's place, are refused.
A label set without coordinates (labels and embeddings only) can always be shared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from terrafind.core.errors import InputError

__all__ = ["SensitiveVerbs", "LOCKED"]

LOCKED = (
    "This project is marked sensitive: precise coordinates leave only after you unlock them "
    "(File > Sensitive places > Unlock precise coordinates, or --unlock in the CLI); export blurred instead."
)


class SensitiveVerbs:
    """Mixed into Session (which has every attribute used here)."""

    catalog: Any
    sensitive: bool
    unlocked: bool
    search_examples: Any
    protected_paths: Any

    def mark_sensitive(self, on: bool) -> None:
        """Mark the project sensitive (precise coordinates locked) or not; unmarking also unlocks."""
        self.sensitive = bool(on)
        self.unlocked = False

    def unlock_precise(self) -> None:
        """Let precise coordinates leave for the rest of this session (the person confirmed it)."""
        self.unlocked = True

    def precise_allowed(self) -> bool:
        return not self.sensitive or self.unlocked

    def check_precise(self, blur_km: float | None, what: str = "export") -> None:
        """Raise the LOCKED sentence when ``what`` would write precise coordinates of a locked project."""
        if blur_km is None and not self.precise_allowed():
            raise InputError(LOCKED if what == "export" else LOCKED.replace("export blurred instead", what))

    def export_label_set(self, path: str | Path) -> tuple[Path, int]:
        """Write the examples and labels as a label set without coordinates (label + embedding, Parquet);
        return (path written, count). Allowed whether the project is sensitive or not."""
        from terrafind.core.export.blur import label_set_table
        from terrafind.core.files import write_atomic
        from terrafind.core.outputs import check_output_file

        ex = self.search_examples()
        rows = [*ex.positives, *ex.negatives]
        if self.catalog is None or not rows:
            raise InputError("There are no examples or labels to share yet.")
        path = Path(path)
        if path.suffix.lower() != ".parquet":
            raise InputError(f"{path.name} does not end in .parquet: a label set is a Parquet file.")
        check_output_file(path, "labelset", self.protected_paths())
        labels = ["positive"] * len(ex.positives) + ["negative"] * len(ex.negatives)
        # the chips as read (plain unit vectors): a label set travels to other regions with other means
        table = label_set_table(self.catalog.plain[rows], labels, self.catalog.model)

        def write(tmp: Path) -> None:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)

        try:
            return write_atomic(write, path), len(rows)
        except OSError as exc:
            raise InputError(f"Could not write {path}: {exc.strerror or exc}.") from exc
