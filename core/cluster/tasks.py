"""Named tasks on a Dask cluster: progress across the workers, clean cancel, retries, failures by name.

Two ways to run work (both from the process that holds the client):

- :func:`run_tasks`: independent tasks (a tile each). Progress counts finished tasks (weighted, e.g. by
  chips); a task that fails with a :class:`~terrafind.core.errors.TerrafindError` is reported by its name
  with that sentence and the others go on (such a failure would fail again: it is not retried); any other
  exception is retried by Dask (``retries``) before it is reported. A worker that dies (a lost machine, a
  killed process) needs nothing from us: the scheduler gives its tasks to another worker.
- :func:`map_ordered`: windows whose results must be consumed in order (one file written from them):
  results are yielded in order while a bounded number of windows run ahead, so memory stays bounded.

Cancel (a token, or Ctrl-C in the terminal) stops cleanly: the tasks not yet started are cancelled on the
scheduler, running ones see the run's cancel event at their next chunk (:class:`ClusterCancel`) and stop,
and nothing they write becomes visible half-done, because every file goes through
:func:`terrafind.core.files.write_atomic` (a private temporary name, renamed when complete).
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from terrafind.core.errors import Cancelled, TerrafindError
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.tasks import Failed, Task, TaskReport

__all__ = ["Task", "TaskReport", "Failed", "ClusterCancel", "run_tasks", "map_ordered", "RETRIES"]

RETRIES = 2  # Dask re-runs a task that raised an unexpected error this many times before it is reported
_POLL_S = 0.05
_EVENT_CHECK_S = 0.5  # a worker asks the scheduler whether the run was cancelled at most this often


class ClusterCancel(CancelToken):
    """A worker's view of the run's cancel: a Dask ``Event`` set by the client, asked at most every half
    second (so checking it once per chunk costs nothing).

    On a worker it is asked through the worker's own connection to the scheduler (the request
    ``Event.is_set`` sends), not through a ``distributed.Event``: that would give the worker a Client of
    its own, which Dask does not close when all workers stop together (a cancelled local cluster), and
    whose finalizer then prints a traceback into the user's terminal."""

    def __init__(self, event_name: str) -> None:
        super().__init__()
        self._name = event_name
        self._asked = 0.0

    @property
    def cancelled(self) -> bool:
        if super().cancelled:
            return True
        now = time.monotonic()
        if now - self._asked >= _EVENT_CHECK_S:
            self._asked = now
            try:
                if _event_is_set(self._name):
                    self.cancel()
            except (OSError, ValueError, RuntimeError, TimeoutError):  # no scheduler to ask: keep working
                pass
        return super().cancelled

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled()


def _event_is_set(name: str) -> bool:
    """Whether the Dask ``Event`` ``name`` is set, asked from a worker without a Client of its own."""
    from distributed import Event, get_worker
    from distributed.utils import sync

    try:
        worker = get_worker()
    except ValueError:  # not on a worker (a task run in the client's process): the public way
        return bool(Event(name).is_set())
    return bool(sync(worker.loop, worker.scheduler.event_is_set, name=name, callback_timeout=10))


def _guarded(fn: Callable[..., Any], event_name: str, *args: Any) -> Any:
    """Run on a worker: ``fn(*args, cancel=...)``; a TerrafindError comes back as :class:`Failed`."""
    try:
        return fn(*args, cancel=ClusterCancel(event_name))
    except TerrafindError as exc:
        return Failed(exc.message)


def _workers(run: Any) -> int:
    try:
        return int(run.workers)
    except (OSError, ValueError, RuntimeError):
        return 0


def _cancel_all(run: Any, event: Any, futures: Iterable[Any]) -> None:
    """Tell running tasks to stop and drop the ones not started; never raise on the way out."""
    try:
        event.set()
    except Exception:  # noqa: BLE001 - the scheduler may be gone already
        pass
    try:
        run.client.cancel([f for f in futures if not f.done()])
    except Exception:  # noqa: BLE001
        pass


def run_tasks(
    run: Any,
    tasks: list[Task],
    *,
    label: str,
    retries: int = RETRIES,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    on_done: Callable[[str, Any], None] | None = None,
) -> TaskReport:
    """Run ``tasks`` on the cluster of ``run`` (:class:`terrafind.core.cluster.connect.ClusterRun`); the
    signature of :func:`terrafind.core.tasks.run_here` with the cluster first (``partial(run_tasks, run)``).

    ``on_done(name, result)`` is called here as each task finishes (e.g. to record it in a manifest, so an
    interrupted run keeps what finished). Raises Cancelled (after cancelling the rest) when ``cancel`` is
    set; KeyboardInterrupt does the same."""
    from distributed import Event

    out = TaskReport()
    event_name = f"terrafind-cancel-{uuid.uuid4().hex}"
    event = Event(event_name, client=run.client)
    total = sum(t.weight for t in tasks) or 1.0
    futures = {
        run.client.submit(
            _guarded,
            t.fn,
            event_name,
            *t.args,
            key=f"{t.name}-{uuid.uuid4().hex}",
            retries=retries,
            pure=False,
        ): t  # fmt: skip
        for t in tasks
    }
    pending = set(futures)
    finished: dict[str, Any] = {}
    done_weight = 0.0
    report(progress, 0, int(total), f"{label} 0/{len(tasks)}")
    try:
        while pending:
            check(cancel)
            check(run.interrupted)
            ready = [f for f in pending if f.done()]
            if not ready:
                time.sleep(_POLL_S)
                continue
            for f in ready:
                pending.discard(f)
                task = futures[f]
                if f.status == "error":
                    exc = f.exception()
                    out.failures[task.name] = _sentence(exc)
                elif f.status == "cancelled":
                    out.failures[task.name] = "it was cancelled on the cluster."
                else:
                    result = f.result()
                    if isinstance(result, Failed):
                        out.failures[task.name] = result.message
                    else:
                        finished[task.name] = result
                        if on_done is not None:
                            on_done(task.name, result)
                done_weight += task.weight
                n = len(tasks) - len(pending)
                report(
                    progress,
                    int(done_weight),
                    int(total),
                    f"{label} {n}/{len(tasks)} · {_workers(run)} workers",
                )
    except BaseException:
        _cancel_all(run, event, pending)
        raise
    out.results = {t.name: finished[t.name] for t in tasks if t.name in finished}
    return out


def _sentence(exc: BaseException | None) -> str:
    """An unexpected error of a task (after its retries) or a worker lost too often, in one sentence."""
    name = type(exc).__name__ if exc is not None else "error"
    if name == "KilledWorker":
        return "the workers running it stopped too often (out of memory, or killed)."
    text = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
    return f"unexpected {name}{': ' + text if text else ''}."


def map_ordered(
    run: Any,
    fn: Callable[..., Any],
    items: list[tuple[Any, ...]],
    *,
    ahead: int,
    retries: int = RETRIES,
    cancel: CancelToken | None = None,
) -> Iterator[Any]:
    """``fn(*item, cancel=...)`` for every item on the cluster, results yielded in the items' order.

    At most ``ahead`` items are submitted and not yet consumed. A failed item raises here (its
    TerrafindError's sentence, or an unexpected error after Dask's retries); the rest is then cancelled."""
    from distributed import Event

    event_name = f"terrafind-cancel-{uuid.uuid4().hex}"
    event = Event(event_name, client=run.client)
    queue: deque[Any] = deque()
    todo = iter(items)

    def submit_more() -> None:
        while len(queue) < max(1, ahead):
            item = next(todo, None)
            if item is None:
                return
            queue.append(run.client.submit(_guarded, fn, event_name, *item, retries=retries, pure=False))

    try:
        submit_more()
        while queue:
            head = queue[0]
            check(cancel)
            check(run.interrupted)  # also between windows that are done already
            while not head.done():
                check(cancel)
                check(run.interrupted)
                time.sleep(_POLL_S)
            queue.popleft()
            if head.status == "error":
                raise TerrafindError(
                    f"A part of the work failed on the cluster: {_sentence(head.exception())}"
                )
            if head.status == "cancelled":
                raise Cancelled()
            result = head.result()
            if isinstance(result, Failed):
                raise TerrafindError(result.message)
            submit_more()
            yield result
    except BaseException:
        _cancel_all(run, event, queue)
        raise
    finally:
        if queue:  # the consumer stopped early (an error in the writer): drop what is still queued
            _cancel_all(run, event, queue)
