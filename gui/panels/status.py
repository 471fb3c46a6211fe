"""The status bar: what is happening, a progress bar and Cancel for the running job, online/offline state.

Every job the TaskRunner shows appears here; when several run, the newest is displayed and Cancel stops
that one (the others keep their place and reappear when it ends).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from terrafind.gui.plain import plain_tip
from terrafind.gui.workers import Job, TaskRunner

__all__ = ["StatusBar"]


class StatusBar(QStatusBar):
    online_toggled = Signal(bool)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.job_label = QLabel(self)
        self.job_label.setTextFormat(Qt.TextFormat.PlainText)  # job names quote file names
        self.progress = QProgressBar(self)
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the running job")
        # Where thumbnails come from, in the words every panel uses (core.imagery.explain)
        self.imagery_label = QLabel(self)
        self.imagery_label.setTextFormat(Qt.TextFormat.PlainText)
        self.imagery_label.hide()
        self.net = QPushButton(self)
        self.net.setFlat(True)
        self.net.setCheckable(True)
        self.net.setToolTip("Online: remote imagery may be fetched. Click to work offline.")
        for w in (self.job_label, self.progress, self.cancel_button):
            self.addPermanentWidget(w)
            w.hide()
        self.addPermanentWidget(self.imagery_label)
        self.addPermanentWidget(self.net)
        self._jobs: list[Job] = []
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.net.toggled.connect(self._on_net_toggled)
        runner.job_started.connect(self._on_started)
        runner.job_progress.connect(self._on_progress)
        runner.job_ended.connect(self._on_ended)
        self.set_online(True)

    # --- online indicator -------------------------------------------------------------------------
    def set_online(self, online: bool) -> None:
        self.net.blockSignals(True)
        self.net.setChecked(not online)
        self.net.blockSignals(False)
        self.net.setText("● Online" if online else "○ Offline")
        self.net.setStyleSheet(f"color: {'#2e7d32' if online else '#8a6d3b'}; padding: 0 6px;")

    def set_imagery(self, short: str, sentence: str, available: bool) -> None:
        """The thumbnails' imagery: a few words here, the whole sentence on hover (amber when unavailable)."""
        self.imagery_label.setText(f"Thumbnails: {short}")
        self.imagery_label.setToolTip(plain_tip(sentence))
        self.imagery_label.setStyleSheet("" if available else "color: #8a6d3b;")
        self.imagery_label.show()

    def is_online(self) -> bool:
        return not self.net.isChecked()

    def _on_net_toggled(self, offline: bool) -> None:
        self.set_online(not offline)
        self.online_toggled.emit(not offline)

    # --- jobs ---------------------------------------------------------------------------------------
    def current_job(self) -> Job | None:
        return self._jobs[-1] if self._jobs else None

    def _on_started(self, job: Job) -> None:
        self._jobs.append(job)
        self._show(job)

    def _on_progress(self, job: Job) -> None:
        if job is self.current_job():
            self._show(job)

    def _on_ended(self, job: Job, how: str) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        if how == "cancelled":
            self.showMessage(f"{job.label}: cancelled.", 5000)
        current = self.current_job()
        if current is not None:
            self._show(current)
        else:
            for w in (self.job_label, self.progress, self.cancel_button):
                w.hide()

    def _show(self, job: Job) -> None:
        text = job.text if job.text and job.text != job.label else ""
        self.job_label.setText(f"{job.label}{' - ' + text if text else ''}…")
        if job.total > 0:
            self.progress.setRange(0, job.total)
            self.progress.setValue(min(job.done, job.total))
        else:
            self.progress.setRange(0, 0)  # busy indicator until the job reports its size
        for w in (self.job_label, self.progress, self.cancel_button):
            w.show()

    def _on_cancel_clicked(self) -> None:
        job = self.current_job()
        if job is not None:
            self.runner.cancel(job.kind)
