"""terrafind.core.cluster on a LocalCluster of 2 worker processes: embeddings window by window and tile by
tile are the same bytes as on one machine; a sharded region built on the cluster searches like one built
here; failed tiles are named, unexpected errors retried, a lost worker's task rerun, cancel stops the
workers; the CLI's --cluster (progress, dashboard link, Ctrl-C leaves nothing half-written)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

pytest.importorskip("distributed")

import cluster_tasks  # noqa: E402
from cluster_synth import scene, tiles, write_tile  # noqa: E402

from terrafind.core.cluster.connect import open_cluster  # noqa: E402
from terrafind.core.cluster.embed import cluster_chips  # noqa: E402
from terrafind.core.cluster.tasks import run_tasks  # noqa: E402
from terrafind.core.embed.embedder import EmbedderParams, embed_images  # noqa: E402
from terrafind.core.embed.tiles import embed_tiles  # noqa: E402
from terrafind.core.errors import Cancelled  # noqa: E402
from terrafind.core.progress import CancelToken  # noqa: E402
from terrafind.core.search import exact as exact_mod  # noqa: E402
from terrafind.core.search import query as query_mod  # noqa: E402
from terrafind.core.session import Session  # noqa: E402
from terrafind.core.shards.build import update_region  # noqa: E402
from terrafind.core.tasks import Task  # noqa: E402
from terrafind.core.types import Examples  # noqa: E402

cloudpickle.register_pickle_by_value(cluster_tasks)
PARAMS = EmbedderParams(k=8, chip=16, stride=8)


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def run():
    with open_cluster(workers=2) as r:
        yield r


def test_a_local_cluster_of_two_worker_processes(run):
    assert run.local and run.workers == 2
    pids = set(run.client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids
    assert run.dashboard is not None and run.dashboard.startswith("http://127.0.0.1:")
    assert "local cluster of 2 workers; dashboard: http://127.0.0.1:" in run.describe()


def test_embedding_windows_on_the_cluster_gives_the_same_bytes(run, tmp_path):
    a = write_tile(tmp_path / "a.tif", scene(150, 170, 1))
    data = scene(90, 120, 2)
    data[:, :20, :30] = 0  # nodata in a corner: chips there are left out, the same way on both paths
    b = write_tile(tmp_path / "b.tif", data, col=2)
    here = embed_images([a, b], tmp_path / "here.parquet", params=PARAMS)
    there = embed_images(
        [a, b], tmp_path / "there.parquet", params=PARAMS, chips=cluster_chips(run, window_rows=2)
    )
    assert sha(here) == sha(there)
    # --like: the filters of an earlier file, windows of another size
    c = write_tile(tmp_path / "c.tif", scene(100, 100, 5), col=4)
    here = embed_images([c], tmp_path / "here2.parquet", like=tmp_path / "here.parquet")
    there = embed_images(
        [c], tmp_path / "there2.parquet", like=tmp_path / "here.parquet", chips=cluster_chips(run)
    )
    assert sha(here) == sha(there)


def test_tiles_on_the_cluster_are_the_same_bytes_and_a_rerun_skips_them(run, tmp_path):
    images = tiles(tmp_path / "img")
    here = embed_tiles(images, tmp_path / "here", params=PARAMS)
    there = embed_tiles(images, tmp_path / "there", params=PARAMS, runner=partial(run_tasks, run))
    assert sorted(there.written) == here.written == ["T0", "T1", "T2"]
    for name in here.written:
        assert sha(tmp_path / "here" / f"{name}.parquet") == sha(tmp_path / "there" / f"{name}.parquet")
    again = embed_tiles(images, tmp_path / "there", params=PARAMS, runner=partial(run_tasks, run))
    assert again.written == [] and again.skipped == ["T0", "T1", "T2"]


def test_a_region_indexed_on_the_cluster_searches_like_one_indexed_here(run, tmp_path, monkeypatch):
    embed_tiles(tiles(tmp_path / "img"), tmp_path / "emb", params=PARAMS)
    files = sorted(str(p) for p in (tmp_path / "emb").glob("*.parquet"))
    update_region(files, tmp_path / "here")
    rep = update_region(files, tmp_path / "there", runner=partial(run_tasks, run))
    assert sorted(rep.built) == ["T0", "T1", "T2"] and not rep.failures
    monkeypatch.setattr(query_mod, "EXACT_MAX_ROWS", 0)
    monkeypatch.setattr(exact_mod, "EXACT_MAX_ROWS", 0)
    sessions = [Session.open([str(tmp_path / name)]) for name in ("here", "there")]
    for s in sessions:
        s.use_index(s.catalog, s.load_index())
    assert sessions[0].catalog.ids.tolist() == sessions[1].catalog.ids.tolist()
    for row in (3, 100, 200):
        hits = [query_mod.search(s.catalog, Examples(positives=[row]), k=30, index=s.index) for s in sessions]
        assert hits[0].method == hits[1].method == "index"
        assert hits[0].rows.tolist() == hits[1].rows.tolist()
        assert np.array_equal(hits[0].scores, hits[1].scores)


def test_failures_are_named_errors_retried_and_a_lost_workers_task_rerun(run, tmp_path):
    tasks = [
        Task("T0", cluster_tasks.ok, (1,)),
        Task("T1", cluster_tasks.bad_tile, ("T1.parquet",)),
        Task("T2", cluster_tasks.flaky, (str(tmp_path / "flaky"),)),
        Task("T3", cluster_tasks.kill_worker_once, (str(tmp_path / "killed"),)),
    ]
    done = []
    rep = run_tasks(run, tasks, label="Test", on_done=lambda name, result: done.append(name))
    assert rep.failures == {"T1": "T1.parquet is not a tile Terrafind can read."}
    assert rep.results["T0"] == 2 and rep.results["T2"] == "second try"
    assert rep.results["T3"] not in set(run.client.run(os.getpid).values())  # that worker is gone
    assert sorted(done) == ["T0", "T2", "T3"]
    assert "1 of 4 tiles failed (T1: T1.parquet is not a tile Terrafind can read)" in rep.failure_sentence()
    run.client.wait_for_workers(2, timeout=30)  # the nanny started a new worker


def test_cancel_stops_the_running_tasks(run, tmp_path):
    token = CancelToken()
    tasks = [Task(f"T{i}", cluster_tasks.wait_for_cancel, (str(tmp_path), i)) for i in range(2)]

    with pytest.raises(Cancelled):
        run_tasks(run, tasks, label="Test", cancel=_cancel_after(token, 1.0))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(list(tmp_path.glob("stopped-*"))) < 2:
        time.sleep(0.1)
    assert sorted(p.name for p in tmp_path.glob("stopped-*")) == ["stopped-0", "stopped-1"]


def _cancel_after(token: CancelToken, seconds: float) -> CancelToken:
    import threading

    threading.Timer(seconds, token.cancel).start()
    return token


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "terrafind.core.cli.main", *args], capture_output=True, text=True, timeout=240
    )


def test_the_cli_embeds_indexes_and_packs_a_region_on_a_local_cluster(tmp_path):
    images = [str(p) for p in tiles(tmp_path / "img")]
    res = _cli("embed", *images, "--out-dir", str(tmp_path / "emb"), "--filters", "8", "--chip", "16",
               "--stride", "8", "--cluster", "--workers", "2")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Working on a local cluster of 2 workers; dashboard: http://127.0.0.1:" in res.stderr
    assert "Embedding tiles 3/3 · 2 workers" in res.stderr and "3 tile(s) embedded" in res.stdout
    files = sorted(str(p) for p in (tmp_path / "emb").glob("*.parquet"))
    res = _cli("index", *files, "--shards", str(tmp_path / "region"), "--cluster", "--workers", "2")
    assert res.returncode == 0, res.stderr
    assert "3 shard(s) built, 0 already done, 0 failed" in res.stdout
    (tmp_path / "stations.csv").write_text(
        "name,lon,lat\nStation A,-75.675,37.670\nStation B,-75.655,37.671\n"
    )
    res = _cli("pack", str(tmp_path / "region"), "--places", str(tmp_path / "stations.csv"), "--size-km", "1",
               "--out", str(tmp_path / "packs"), "--cluster", "--workers", "2", "--offline")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "2 pack(s) ready, 0 failed" in res.stdout
    from terrafind.core.pack.open import open_pack

    for name in ("Station_A", "Station_B"):
        info = open_pack(tmp_path / "packs" / name)
        assert info.catalog_paths and info.index_path is not None
    res = _cli("search", str(tmp_path / "region"), "--at=-75.675,37.670", "-k", "5")
    assert res.returncode == 0, res.stderr
    assert "5 hits" in res.stdout


def test_the_cli_says_when_dask_is_missing_or_the_address_is_wrong(tmp_path, monkeypatch):
    from terrafind.core.cli.main import main
    from terrafind.core.cluster import connect
    from terrafind.core.errors import InputError

    with pytest.raises(InputError, match="No Dask scheduler answered at 127.0.0.1:9 within 2 s"):
        with connect.open_cluster("127.0.0.1:9", timeout_s=2):
            pass
    monkeypatch.setattr(connect.importlib.util, "find_spec", lambda name: None)
    image = tiles(tmp_path / "img", n=1)[0]
    assert main(["embed", str(image), "--out", str(tmp_path / "x.parquet"), "--cluster"]) == 2


def test_a_ctrl_c_that_lands_in_a_finalizer_is_not_printed(monkeypatch):
    """Ctrl-C during a run sets the run's token; when its KeyboardInterrupt lands in a finalizer (a Dask
    future's __del__, seen once in CI), Python would print "Exception ignored ... Traceback" under the
    CLI's "cancelled.": it is swallowed, and any other unraisable error still reaches the usual hook."""
    from terrafind.core.cluster.connect import _ctrl_c_sets

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(type(u.exc_value).__name__))

    class Finalised:
        def __init__(self, error):
            self.error = error

        def __del__(self):
            raise self.error

    token = CancelToken()
    with _ctrl_c_sets(token):
        token.cancel()  # what the SIGINT handler does first
        Finalised(KeyboardInterrupt())  # dropped at once: its __del__ raises where Python cannot
        Finalised(ValueError("a real fault"))
    assert reported == ["ValueError"]
    Finalised(KeyboardInterrupt())  # after the run the usual hook hears of it again
    assert reported == ["ValueError", "KeyboardInterrupt"]


def test_ctrl_c_cancels_cleanly_and_leaves_no_half_written_file(tmp_path):
    big = write_tile(tmp_path / "big.tif", scene(1200, 1200, 3))
    out = tmp_path / "out" / "big.parquet"
    out.parent.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "terrafind.core.cli.main", "embed", str(big), "--out", str(out), "--filters", "64",
         "--cluster", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    seen = ""
    deadline = time.monotonic() + 120
    while "Embedding big" not in seen and time.monotonic() < deadline:
        seen += os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
    assert "Embedding big" in seen, seen
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    assert "cancelled" in err and "Traceback" not in err, err
    assert list(out.parent.iterdir()) == []  # neither the file nor a temporary folder
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # no worker process outlives the run for long
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("processes of the cancelled run are still running")


def test_ctrl_c_during_a_run_also_sets_the_runs_token():
    """Should Dask swallow the KeyboardInterrupt (raised in one of its callbacks), the loops still stop."""
    from terrafind.core.cluster.connect import _ctrl_c_sets

    before = signal.getsignal(signal.SIGINT)
    token = CancelToken()
    with pytest.raises(KeyboardInterrupt):
        with _ctrl_c_sets(token):
            signal.raise_signal(signal.SIGINT)
    assert token.cancelled
    assert signal.getsignal(signal.SIGINT) is before


def test_cancelling_an_index_run_on_the_cluster_leaves_only_whole_shards(run, tmp_path):
    from terrafind.core.shards.build import shard_finished
    from terrafind.core.shards.manifest import read_manifest

    embed_tiles(tiles(tmp_path / "img", n=4), tmp_path / "emb", params=PARAMS)
    files = sorted(str(p) for p in (tmp_path / "emb").glob("*.parquet"))
    token = CancelToken()

    def progress(done, total, label):
        if label.startswith("Indexing tiles 1/"):
            token.cancel()

    region = tmp_path / "region"
    with pytest.raises(Cancelled):
        update_region(files, region, runner=partial(run_tasks, run), progress=progress, cancel=token)
    shards = read_manifest(region)["shards"]
    assert 1 <= len(shards) < 4 and all(shard_finished(region, s) for s in shards)

    def temporary() -> list[Path]:
        return [p for p in (region / "shards").rglob(".*") if "tmp" in p.name or p.is_dir()]

    deadline = time.monotonic() + 15  # the workers' cancelled tasks stop at their next chunk
    while temporary() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not temporary()
    rep = update_region(files, region, runner=partial(run_tasks, run))  # the rerun does the rest
    assert sorted(rep.skipped + rep.built) == ["T0", "T1", "T2", "T3"] and len(rep.skipped) == len(shards)
