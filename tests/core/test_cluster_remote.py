"""embed, index and pack on a real Dask cluster: a `dask scheduler` and a `dask worker` (2 processes) that
the test starts as separate processes bound to 127.0.0.1, and stops. The results are those of one machine."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from cluster_synth import scene, tiles, write_tile  # noqa: E402

from terrafind.core.cli.main import main  # noqa: E402
from terrafind.core.embed.embedder import EmbedderParams, embed_images  # noqa: E402
from terrafind.core.embed.tiles import embed_tiles  # noqa: E402
from terrafind.core.search import exact as exact_mod  # noqa: E402
from terrafind.core.search import query as query_mod  # noqa: E402
from terrafind.core.session import Session  # noqa: E402
from terrafind.core.shards.build import update_region  # noqa: E402
from terrafind.core.types import Examples  # noqa: E402

DASK = Path(sys.executable).parent / "dask"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """tcp://127.0.0.1:PORT of a scheduler with 2 single-threaded worker processes, all on 127.0.0.1."""
    if not DASK.exists():
        pytest.skip("the dask command is not installed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("dask")
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    started = []
    logs = [open(log / "scheduler.log", "w"), open(log / "worker.log", "w")]  # noqa: SIM115 - closed below
    try:
        started.append(subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address",
             "127.0.0.1:0", "--idle-timeout", "600"],
            stdout=logs[0], stderr=subprocess.STDOUT, env=env,
        ))  # fmt: skip
        started.append(subprocess.Popen(
            [str(DASK), "worker", address, "--host", "127.0.0.1", "--nworkers", "2", "--nthreads", "1",
             "--no-dashboard", "--death-timeout", "60"],
            stdout=logs[1], stderr=subprocess.STDOUT, env=env,
        ))  # fmt: skip
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for proc in reversed(started):
            _stop(proc)
        for f in logs:
            f.close()


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_embed_index_and_pack_on_a_running_scheduler(scheduler, tmp_path, capsys, monkeypatch):
    images = [str(p) for p in tiles(tmp_path / "img")]
    small = ["--filters", "8", "--chip", "16", "--stride", "8"]
    # one file from windows computed by the workers: the bytes of a run here
    mosaic = write_tile(tmp_path / "mosaic.tif", scene(160, 140, 9))
    here = embed_images([mosaic], tmp_path / "here.parquet", params=EmbedderParams(k=8, chip=16, stride=8))
    assert (
        main(["embed", str(mosaic), "--out", str(tmp_path / "there.parquet"), *small, "--cluster", scheduler])
        == 0
    )
    assert sha(here) == sha(tmp_path / "there.parquet")
    err = capsys.readouterr().err
    assert f"Working on the cluster at {scheduler} of 2 workers" in err
    # tiles, shards and packs
    assert main(["embed", *images, "--out-dir", str(tmp_path / "emb"), *small, "--cluster", scheduler]) == 0
    embed_tiles(images, tmp_path / "emb-here", params=EmbedderParams(k=8, chip=16, stride=8))
    for name in ("T0", "T1", "T2"):
        assert sha(tmp_path / "emb" / f"{name}.parquet") == sha(tmp_path / "emb-here" / f"{name}.parquet")
    files = sorted(str(p) for p in (tmp_path / "emb").glob("*.parquet"))
    assert main(["index", *files, "--shards", str(tmp_path / "region"), "--cluster", scheduler]) == 0
    assert "3 shard(s) built" in capsys.readouterr().out
    update_region(files, tmp_path / "region-here")
    (tmp_path / "st.csv").write_text("name,lon,lat\nNorth post,-75.675,37.670\n")
    assert main(["pack", str(tmp_path / "region"), "--places", str(tmp_path / "st.csv"), "--size-km", "1",
                 "--out", str(tmp_path / "packs"), "--cluster", scheduler, "--offline"]) == 0  # fmt: skip
    assert (tmp_path / "packs" / "North_post" / "manifest.json").exists()
    # the same hits from the region built on the cluster as from the one built here
    monkeypatch.setattr(query_mod, "EXACT_MAX_ROWS", 0)
    monkeypatch.setattr(exact_mod, "EXACT_MAX_ROWS", 0)
    sessions = [Session.open([str(tmp_path / n)]) for n in ("region", "region-here")]
    for s in sessions:
        s.use_index(s.catalog, s.load_index())
    for row in (10, 150):
        hits = [query_mod.search(s.catalog, Examples(positives=[row]), k=25, index=s.index) for s in sessions]
        assert hits[0].rows.tolist() == hits[1].rows.tolist() and np.array_equal(
            hits[0].scores, hits[1].scores
        )
    # a rerun on the cluster skips every finished shard
    assert main(["index", str(tmp_path / "region"), "--cluster", scheduler]) == 0
    assert "0 shard(s) built, 3 already done" in capsys.readouterr().out
