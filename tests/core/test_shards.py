"""terrafind.core.shards: a region of tiles indexed as shards, opened as one, searched with merged results;
tiles added without rebuilding the others; reruns skip finished shards by hash; a bad tile is named."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from cluster_synth import tiles

from terrafind.core.embed.embedder import EmbedderParams
from terrafind.core.embed.tiles import embed_tiles
from terrafind.core.errors import Cancelled
from terrafind.core.progress import CancelToken
from terrafind.core.search import exact as exact_mod
from terrafind.core.search import query as query_mod
from terrafind.core.search.index import build_index
from terrafind.core.session import Session
from terrafind.core.shards.build import update_region
from terrafind.core.shards.index import ShardedIndex
from terrafind.core.shards.manifest import read_manifest
from terrafind.core.types import Examples

PARAMS = EmbedderParams(k=8, chip=16, stride=8)  # 16-d vectors, 121 chips per 96 px tile


@pytest.fixture
def emb(tmp_path: Path) -> Path:
    rep = embed_tiles(tiles(tmp_path / "img"), tmp_path / "emb", params=PARAMS)
    assert rep.written == ["T0", "T1", "T2"] and not rep.failures
    return tmp_path / "emb"


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.parquet"))


def _rows(folder: Path) -> int:
    """Chips a plain open of the files gives (all-zero vectors, e.g. of calm water, are left out)."""
    from terrafind.core.read.reader import open_catalog

    return len(open_catalog(_files(folder)))


def test_region_opens_as_one_and_merged_search_equals_one_index(emb, tmp_path, monkeypatch):
    rep = update_region(_files(emb), tmp_path / "region")
    total = _rows(emb)
    assert rep.built == ["T0", "T1", "T2"] and rep.rows == total > 250
    session = Session.open([str(tmp_path / "region")])
    cat = session.catalog
    assert len(cat) == total and {i.split("_")[0] for i in cat.ids} == {"T0", "T1", "T2"}
    index = session.load_index()
    assert isinstance(index, ShardedIndex) and index.shards == 3 and len(index) == total
    session.use_index(cat, index)
    # the index is used (not the exact scan small regions get) and gives the same hits as one index over
    # every chip and as the exact search
    monkeypatch.setattr(query_mod, "EXACT_MAX_ROWS", 0)
    monkeypatch.setattr(exact_mod, "EXACT_MAX_ROWS", 0)
    one = build_index(cat)
    for row in (5, 150, total - 10):
        examples = Examples(positives=[row])
        merged = query_mod.search(cat, examples, k=40, index=index)
        single = query_mod.search(cat, examples, k=40, index=one)
        exact = query_mod.search(cat, examples, k=40, index=None)
        assert merged.method == "index" and exact.method == "exact"
        assert merged.rows.tolist() == single.rows.tolist() == exact.rows.tolist()
        assert np.allclose(merged.scores, exact.scores)
    # unusual places' novelty asks every shard's graph for candidates: the same as one index's
    from terrafind.core.search.unusual import novelty

    some = [0, 150, total - 1]
    cand = index.candidates(np.asarray(cat.vectors[some], np.float32), 10)
    assert cand.shape == (3, 30) and all(row in cand[i] for i, row in enumerate(some))
    assert np.allclose(novelty(cat, index=index), novelty(cat, index=one), atol=1e-5)
    # the session's own search uses it too
    session.set_example(150, "positive")
    assert session.run_search().result.method == "index"


def test_sharded_index_merges_by_score_then_row():
    class Fake:
        def __init__(self, rows, sims):
            self.r, self.s = np.array([rows]), np.array([sims], np.float32)

        def __len__(self):
            return 3

        def query(self, q, k):
            return self.r[:, :k], self.s[:, :k]

    ix = ShardedIndex([(0, Fake([2, 0, 1], [0.9, 0.5, 0.1])), (3, Fake([1, 0, 2], [0.9, 0.8, 0.2]))], dim=2)
    rows, sims = ix.query(np.ones(2), 3)
    assert rows.tolist() == [[2, 4, 3]] and sims[0].tolist() == pytest.approx([0.9, 0.9, 0.8])


def test_adding_a_tile_adds_a_shard_and_rebuilds_none(emb, tmp_path):
    region = tmp_path / "region"
    update_region(_files(emb)[:2], region)
    index_files = sorted((region / "shards").rglob("*.hnsw"))
    stamps = [p.stat().st_mtime_ns for p in index_files]
    rep = update_region(_files(emb), region)  # the neighbouring tile joins
    assert rep.built == ["T2"] and rep.skipped == ["T0", "T1"]
    assert [p.stat().st_mtime_ns for p in index_files] == stamps
    assert [s["name"] for s in read_manifest(region)["shards"]] == ["T0", "T1", "T2"]
    assert len(Session.open([str(region)]).catalog) == _rows(emb)


def test_rerun_checks_by_hash_and_rebuilds_only_what_changed(emb, tmp_path):
    region = tmp_path / "region"
    update_region(_files(emb), region)
    assert update_region(_files(emb), region).skipped == ["T0", "T1", "T2"]
    damaged = next((region / "shards" / "T1").rglob("*.hnsw"))
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size and time stamp as far as a quick look goes
    damaged.write_bytes(bytes(data))
    rep = update_region(_files(emb), region)
    assert rep.built == ["T1"] and rep.skipped == ["T0", "T2"]
    # a tile made again (new content) is indexed again
    embed_tiles([tiles(tmp_path / "img2", n=1)[0]], tmp_path / "emb2", params=PARAMS)
    os.replace(tmp_path / "emb2" / "T0.parquet", emb / "T0.parquet")
    assert update_region(_files(emb), region).built == ["T0"]


def test_a_bad_tile_is_named_and_the_others_finish(emb, tmp_path):
    bad = emb / "broken.parquet"
    bad.write_bytes(b"PAR1 not really parquet PAR1")
    rep = update_region(_files(emb), tmp_path / "region")
    assert sorted(rep.built) == ["T0", "T1", "T2"] and list(rep.failures) == ["broken"]
    assert "broken" in rep.sentence and "running the same command again" in rep.sentence
    assert [s["name"] for s in read_manifest(tmp_path / "region")["shards"]] == ["T0", "T1", "T2"]


def test_cancel_leaves_only_whole_shards(emb, tmp_path):
    token = CancelToken()
    calls = []

    def progress(done, total, label):
        calls.append(label)
        if label.startswith("Indexing tiles 1/"):
            token.cancel()

    with pytest.raises(Cancelled):
        update_region(_files(emb), tmp_path / "region", progress=progress, cancel=token)
    shards = read_manifest(tmp_path / "region")["shards"]
    assert [s["name"] for s in shards] == ["T0"]
    for hnsw in (tmp_path / "region" / "shards").rglob("*.hnsw"):
        assert hnsw.with_suffix(".json").exists()  # an index is never there without its sidecar
    temporary = [p for p in (tmp_path / "region" / "shards").rglob(".*") if p.is_dir() or "tmp" in p.name]
    assert not temporary  # no temporary left behind
    assert update_region(_files(emb), tmp_path / "region").built == ["T1", "T2"]


def test_tiles_of_two_years_open_as_two_dates(tmp_path):
    year = ("2020-01-01T00:00:00Z", "2020-12-31T23:59:59Z")
    first = embed_tiles(tiles(tmp_path / "img"), tmp_path / "emb", params=PARAMS, time_range=year)
    later = embed_tiles(
        tiles(tmp_path / "img21", year=2021), tmp_path / "emb21", like=tmp_path / "emb" / "T0.parquet"
    )
    assert len(first.written) == len(later.written) == 3
    region = tmp_path / "region"
    update_region(_files(tmp_path / "emb"), region)
    rep = update_region(_files(tmp_path / "emb21"), region)  # next year's tiles: three more shards
    assert rep.skipped == [] and len(rep.built) == 3
    assert sorted({s["date"] for s in read_manifest(region)["shards"]}) == ["2020", "2021-07-01"]
    session = Session.open([str(region)])
    assert session.dates.labels == ["2020", "2021-07-01"] and session.date == "2021-07-01"
    for label in session.dates.labels:
        cat = session.dates.get(label).catalog
        index = session.load_index(catalog=cat)
        assert isinstance(index, ShardedIndex) and index.shards == 3 and len(index) == len(cat)


def test_index_builds_each_shard_in_the_space_the_open_scores_in(emb, tmp_path, monkeypatch):
    """Scores are centred on the region's mean by default: index --shards builds every shard's index in that
    space too (the mean computed as the open computes it), so opening the region loads them, builds none."""
    region = tmp_path / "region"
    update_region(_files(emb), region, centred=True)
    centred = Session.open([str(region)])
    assert centred.catalog.is_centred
    index = centred.load_index(build=False)
    assert isinstance(index, ShardedIndex) and index.shards == 3 and index.from_cache
    plain = Session.open([str(region)], centred=False)
    assert not plain.catalog.is_centred
    assert isinstance(plain.load_index(build=False), ShardedIndex)  # the shards' own, from the first pass
    # and a centred search over the shards is the exact centred search
    monkeypatch.setattr(query_mod, "EXACT_MAX_ROWS", 0)
    monkeypatch.setattr(exact_mod, "EXACT_MAX_ROWS", 0)
    cat = centred.catalog
    for row in (7, 200):
        merged = query_mod.search(cat, Examples(positives=[row]), k=25, index=index)
        exact = query_mod.search(cat, Examples(positives=[row]), k=25, index=None)
        assert merged.method == "index" and merged.rows.tolist() == exact.rows.tolist()
        assert np.allclose(merged.scores, exact.scores, atol=1e-5)
