"""The "Learn from labels" box under the search controls: Refine, Group my examples, Show sites, a hint.

The buttons show the menu's own actions (:class:`terrafind.gui.actions.Actions`: a QToolButton carries the
Refine action, the check boxes follow the Group and Sites actions both ways), so button and menu never
disagree. The hint is worked out from the session alone (:meth:`LearnPanel.show_state`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QToolButton, QVBoxLayout, QWidget

from terrafind.gui.panels.panel_style import hint_label, section_title

__all__ = ["LearnPanel", "learn_hint"]


def learn_hint(session) -> tuple[str, bool]:
    """(the hint sentence, whether labels changed since the last Refine) for a session."""
    parts = []
    stale = session.can_refine() and session.labels_changed_since_refine()
    if not session.can_refine():
        parts.append("Refine needs at least one chip marked right and one marked wrong.")
    elif stale:
        parts.append("Labels changed — Search to refine again.")
    elif session.learn.get("refine"):
        parts.append("Label hits Y / N, then Search (Ctrl+Return) to refine again.")
    if session.masked:
        parts.append(f"{len(session.masked)} chips excluded by imported places.")
    return " ".join(parts), stale


def _bound_check(text: str, action: QAction, parent: QWidget) -> QCheckBox:
    """A check box that mirrors ``action`` both ways."""
    check = QCheckBox(text, parent)
    check.setToolTip(action.toolTip())
    check.setChecked(action.isChecked())
    check.toggled.connect(action.setChecked)
    action.toggled.connect(check.setChecked)
    return check


class LearnPanel(QWidget):
    """Refine (the QAction on a button), Group my examples, Show sites, and a line of hints."""

    def __init__(
        self,
        refine: QAction,
        group: QAction,
        sites: QAction,
        parent: QWidget | None = None,
        improve: QAction | None = None,
    ):
        super().__init__(parent)
        self.refine_button = QToolButton(self)
        self.refine_button.setDefaultAction(refine)
        self.refine_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        # Search > Improve automatically..., on a button beside Refine (the same action)
        self.improve_button = QToolButton(self)
        if improve is not None:
            self.improve_button.setDefaultAction(improve)
        self.improve_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.improve_button.setVisible(improve is not None)
        self.group_check = _bound_check("Group my examples", group, self)
        self.sites_check = _bound_check("Show sites", sites, self)
        self.hint = hint_label("")
        self.hint.setWordWrap(True)
        self._hint_style = self.hint.styleSheet()
        # How good the refined search is, in plain words (core.search.run.quality_text); the method's
        # name goes in the tooltip. Here, not over the histogram, where it covered the bars.
        self.quality = hint_label("")
        self.quality.setWordWrap(True)
        self.quality.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(4)
        lay.addWidget(section_title("Learn from labels"))
        row = QHBoxLayout()
        row.addWidget(self.refine_button)
        row.addWidget(self.improve_button)
        row.addStretch(1)
        lay.addLayout(row)
        checks = QHBoxLayout()
        checks.addWidget(self.group_check)
        checks.addWidget(self.sites_check)
        checks.addStretch(1)
        lay.addLayout(checks)
        lay.addWidget(self.hint)
        lay.addWidget(self.quality)

    def set_quality(self, text: str, method: str = "") -> None:
        """The quality sentence of the latest refined search ("" hides it)."""
        self.quality.setText(text)
        self.quality.setToolTip(f"Measured by {method} cross-validation on your marks." if method else "")
        self.quality.setVisible(bool(text))

    def show_state(self, session) -> bool:
        """Show the hint for ``session``; True when labels changed since the last Refine (the window then
        highlights the Search button)."""
        text, stale = learn_hint(session)
        self.hint.setText(text)
        self.hint.setVisible(bool(text))
        # Labels changed since the last Refine: the hint turns into a call to action (bold, accent).
        self.hint.setStyleSheet("color: #1f4f80; font-weight: bold;" if stale else self._hint_style)
        return stale
