"""Embedding, indexing and packing on a Dask cluster (``terrafind-cli embed|index|pack --cluster``).

Terrafind does not schedule work across machines itself: Dask's distributed scheduler does
(``dask.distributed``, the optional extra ``pip install terrafind[cluster]``). This family adds what the
jobs need around it:

- :mod:`~terrafind.core.cluster.connect`: a cluster for one run: a ``LocalCluster`` of worker processes on
  this machine, or a running scheduler at an address (``dask scheduler`` + ``dask worker``, dask-jobqueue,
  dask-kubernetes); its dashboard link; one sentence when Dask is missing or the address does not answer.
- :mod:`~terrafind.core.cluster.tasks`: named tasks run with progress across the cluster, cancel (Ctrl-C
  or a token) that stops cleanly, Dask's retries for lost workers, and failures reported by name while the
  other tasks finish.
- :mod:`~terrafind.core.cluster.embed`: the built-in embedder's chip rows computed on the workers, window
  by window, and written here in order: the same bytes as a run on one machine.
- :mod:`~terrafind.core.cluster.worker_setup`: local workers leave Ctrl-C to the client.

A tile per task (embeddings files ``embed --out-dir``: :mod:`terrafind.core.embed.tiles`; shards of a
sharded region ``index --shards``: :mod:`terrafind.core.shards`; field packs per place ``pack --places``:
:mod:`terrafind.core.pack.many`) goes to :func:`~terrafind.core.cluster.tasks.run_tasks` as the runner.

Nothing here imports ``distributed`` at module level: the rest of Terrafind works without Dask installed.
"""
