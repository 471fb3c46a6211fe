"""Named pieces of independent work (a tile each) and what became of them, run here one after another.

The same :class:`Task` list runs on a Dask cluster with :func:`terrafind.core.cluster.tasks.run_tasks`,
which has :func:`run_here`'s signature plus the cluster: callers take either as a ``runner``. Both report
a failure with a :class:`~terrafind.core.errors.TerrafindError` by the task's name and go on with the
others; ``on_done`` is called as each task finishes, so an interrupted run keeps what finished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from terrafind.core.errors import TerrafindError
from terrafind.core.progress import CancelToken, ProgressFn, check, report

__all__ = ["Task", "Failed", "TaskReport", "Runner", "run_here"]


@dataclass
class Task:
    """One piece of work: ``fn(*args, cancel=token)``, reported under ``name``."""

    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    weight: float = 1.0  # its share of the progress bar (e.g. its chips)


@dataclass
class Failed:
    """What a task returns instead of raising a TerrafindError: the sentence (never retried: it would fail
    the same way again)."""

    message: str


@dataclass
class TaskReport:
    """Results by task name (in the order given), failures by name (one sentence each)."""

    results: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def failure_sentence(self, what: str = "tiles") -> str | None:
        """One sentence naming every failed task, or None when all finished."""
        if not self.failures:
            return None
        total = len(self.results) + len(self.failures)
        named = "; ".join(f"{name}: {why.rstrip('.')}" for name, why in self.failures.items())
        return (
            f"{len(self.failures)} of {total} {what} failed ({named}); the others are finished and kept, "
            "so running the same command again redoes only these."
        )


class Runner(Protocol):
    def __call__(
        self,
        tasks: list[Task],
        *,
        label: str,
        progress: ProgressFn | None = ...,
        cancel: CancelToken | None = ...,
        on_done: Callable[[str, Any], None] | None = ...,
    ) -> TaskReport: ...


def run_here(
    tasks: list[Task],
    *,
    label: str,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    on_done: Callable[[str, Any], None] | None = None,
) -> TaskReport:
    """Run ``tasks`` in this process, in order; Cancelled (or Ctrl-C) stops at once."""
    out = TaskReport()
    total = int(sum(t.weight for t in tasks)) or 1
    done = 0.0
    for i, task in enumerate(tasks):
        check(cancel)
        report(progress, int(done), total, f"{label} {i}/{len(tasks)}")
        try:
            result = task.fn(*task.args, cancel=cancel)
        except TerrafindError as exc:
            out.failures[task.name] = exc.message
        else:
            if isinstance(result, Failed):
                out.failures[task.name] = result.message
            else:
                out.results[task.name] = result
                if on_done is not None:
                    on_done(task.name, result)
        done += task.weight
    report(progress, total, total, f"{label} {len(tasks)}/{len(tasks)}")
    return out
