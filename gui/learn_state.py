"""What of "learning from labels" a project keeps: the chips under imported "exclude" places (by chip id,
since rows change with the region) and the Refine / Group my examples / Show sites toggles and the
gallery's Best matches / Review mode. :class:`terrafind.gui.learn.LearnUi` hands :func:`learn_state` to the
controller (``extra_state``) and calls :func:`restore_learn_state` when a project is applied.
"""

from __future__ import annotations

from typing import Any

__all__ = ["learn_state", "restore_learn_state"]


def learn_state(ui) -> dict[str, Any]:
    """``{"masked": [chip ids], "learn": {"refine", "group", "sites", "gallery"}}`` of a LearnUi."""
    return {
        "masked": sorted(ui.learn.masked.values()),
        "learn": {
            "refine": bool(ui.refine_action.isChecked()),
            "group": bool(ui.group_action.isChecked()),
            "sites": bool(ui.sites_action.isChecked()),
            "gallery": ui.gallery_mode,
        },
    }


def restore_learn_state(ui, proj) -> None:
    """Bring back a project's masks and toggles. The toggles are set without searching each on its own;
    one search follows when Refine was on, so the probabilities, the review queue and the quality come
    back too (it supersedes the restore of the saved plain results: same job kind, latest wins)."""
    c, flow = ui.w.c, ui.learn
    rows = [c.catalog.row_of(i) for i in proj.masked] if c.catalog is not None else []
    flow.set_masked(sorted(int(r) for r in rows if r is not None))
    state = proj.learn or {}
    # The flow first: the actions' toggled slots then see no change and start no search of their own.
    flow.refining, flow.grouping = bool(state.get("refine")), bool(state.get("group"))
    ui.refine_action.setChecked(flow.refining)
    ui.group_action.setChecked(flow.grouping)
    ui.sites_action.setChecked(bool(state.get("sites")))
    ui.gallery_mode = "review" if state.get("gallery") == "review" else "best"
    ui.mode_bar.set_mode(ui.gallery_mode)
    if flow.refining and c.catalog is not None and flow.can_refine():
        c.search_now()
    c.save_recovery()
