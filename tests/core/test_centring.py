"""Centred similarity (terrafind.core.store.centred, core.session_space): scores are cosines after the
region's mean is taken away, the same for the exact scan, the index, the CLI and field packs.

The truth is planted: three clusters of chips that all lean the same way (a common offset ten times their
spread), so every plain cosine is above 0.97 while the clusters are plainly apart once centred."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synth import grid_layout, write_earth_index

from terrafind.core.read.reader import open_catalog
from terrafind.core.search.exact import exact_scored_topk, exact_topk
from terrafind.core.session import Session
from terrafind.core.store.centred import CentredVectors
from terrafind.core.types import Region

N, D, K = 600, 48, 3


def _planted(n: int = N, d: int = D, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, cluster labels): three clusters around a large common offset."""
    _, _, labels = grid_layout(n, n_clusters=K, seed=seed)
    rng = np.random.default_rng(seed)
    offset = np.zeros(d)
    offset[0] = 20.0
    centres = rng.normal(size=(K, d)) * 0.25
    vecs = offset + centres[labels] + rng.normal(size=(n, d)) * 0.1
    return vecs.astype(np.float32), labels


@pytest.fixture
def planted(tmp_path):
    vecs, labels = _planted()
    truth = write_earth_index(tmp_path / "planted.parquet", n=N, d=D, n_clusters=K, vectors=vecs)
    return truth["path"], labels


def _unit(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _centred_truth(vecs: np.ndarray) -> np.ndarray:
    u = _unit(vecs.astype(np.float64))
    c = u - u.mean(axis=0)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def test_planted_offset_plain_scores_crowd_near_one_centred_scores_separate_the_clusters(planted):
    path, labels = planted
    plain = Session.open([path], centred=False)
    centred = Session.open([path])  # the default
    assert centred.catalog.is_centred and not plain.catalog.is_centred
    assert centred.catalog.similarity() == "centred cosine"
    row = int(np.flatnonzero(labels == 0)[0])
    for s in (plain, centred):
        s.set_example(row, "positive")
        s.params["k"] = N - 1
    p = plain.run_search("plain").result
    c = centred.run_search("plain").result
    assert p.scores.min() > 0.97  # plain cosine: everything looks alike
    same = labels[c.rows] == 0
    assert c.scores[same].min() > 0.5 and c.scores[~same].max() < 0.3  # centred: the clusters separate
    assert same[: int(same.sum())].all()  # and the cluster ranks first
    # the scores are the centred cosines computed by hand (float32 store)
    expected = _centred_truth(np.asarray(_planted()[0]))
    np.testing.assert_allclose(c.scores, expected[c.rows] @ expected[row], atol=1e-4)
    # the region's percentiles are scored in the same space
    out = centred.run_search("plain")
    assert out.percentiles.sample.max() <= 1.0 and np.median(out.percentiles.sample) < 0.3


def test_exact_scan_of_centred_int8_and_float_rows_equals_centring_by_hand(tmp_path, monkeypatch):
    import terrafind.core.store.writer as writer

    vecs, _ = _planted(n=900, seed=3)
    truth = write_earth_index(tmp_path / "a.parquet", n=900, d=D, n_clusters=K, vectors=vecs)
    f32 = open_catalog(truth["path"]).centred()
    monkeypatch.setattr(writer, "F32_MAX_ROWS", 0)
    write_earth_index(tmp_path / "b.parquet", n=900, d=D, n_clusters=K, vectors=vecs)
    i8 = open_catalog(tmp_path / "b.parquet").centred()
    assert i8.store.code == "i8" and isinstance(i8.vectors, CentredVectors)
    expected = _centred_truth(vecs)
    q = expected[[5, 17]].mean(axis=0)
    q = (q / np.linalg.norm(q)).astype(np.float32)
    for cat, tol in ((f32, 1e-4), (i8, 0.03)):
        v = cat.vectors
        np.testing.assert_allclose(v[[5, 17, 899]], expected[[5, 17, 899]], atol=tol)
        np.testing.assert_allclose(v[10:20], expected[10:20], atol=tol)
        np.testing.assert_allclose(np.linalg.norm(v[0:900], axis=1), 1.0, atol=1e-4)
        rows, sims = exact_topk(v, q, 50)
        truth_rows = np.argsort(-(expected @ q), kind="stable")[:50]
        assert len(set(rows[0]) & set(truth_rows)) >= 48
        np.testing.assert_allclose(sims[0], np.clip(v[rows[0]] @ q, -1, 1), atol=1e-4)
        r2, s2, _ = exact_scored_topk(v, lambda b: (b @ q, None), 50)
        np.testing.assert_array_equal(np.sort(r2), np.sort(rows[0]))
        np.testing.assert_allclose(s2, sims[0], atol=1e-4)
        # the store's own distances to its mean serve (no scan), and match a scan
        scanned = CentredVectors(cat.unit, cat.centre).cnorm
        np.testing.assert_allclose(cat.vectors.cnorm, scanned, atol=1e-4)


def test_the_index_is_built_in_the_centred_space_and_keeps_its_recall(planted):
    from terrafind.core.search.index import IndexParams, build_index

    path, _ = planted
    cat = open_catalog(path)
    plain_fp = cat.fingerprint(extra="x" + cat.space_key())
    centred = cat.centred()
    assert centred.fingerprint() == cat.fingerprint()  # thumbnails and projects do not change
    assert centred.fingerprint(extra="x" + centred.space_key()) != plain_fp  # an index does
    vi = build_index(centred, params=IndexParams(dims=16, fetch=100))
    rng = np.random.default_rng(1)
    hits = []
    for row in rng.choice(N, 20, replace=False):
        q = centred.vectors[int(row)]
        got, sims = vi.query(q, 50)
        exact_rows, _ = exact_topk(centred.vectors, q, 50)
        hits.append(len(set(got[0]) & set(exact_rows[0])) / 50)
        np.testing.assert_allclose(sims[0], np.clip(centred.vectors[got[0]] @ q, -1, 1), atol=1e-5)
    assert np.mean(hits) >= 0.95


def test_switching_the_setting_changes_space_and_drops_results_and_index(planted):
    path, labels = planted
    s = Session.open([path])
    s.set_example(0, "positive")
    first = s.run_search("plain")
    s.set_outcome(first)
    s.index = object()
    assert s.set_centred(False) is True
    assert not s.catalog.is_centred and s.index is None and s.outcome is None
    assert s.examples == {0: "positive"}  # rows stay valid: the chips are the same
    plain = s.run_search("plain").result
    assert plain.scores.min() > 0.97
    assert s.set_centred(False) is False
    s.set_centred(True)
    np.testing.assert_allclose(s.run_search("plain").result.scores, first.result.scores, atol=1e-6)


def test_cli_scores_are_the_apps_and_provenance_says_centred(planted, tmp_path, capsys):
    from terrafind.core.cli.main import main

    path, _ = planted
    app = Session.open([path])
    app.set_example(3, "positive")
    app.params["k"] = 20
    app.set_outcome(app.run_search("plain"))
    lon, lat = app.catalog.centroids[3]
    at = ["--at", f"{float(lon)!r},{float(lat)!r}"]
    out = tmp_path / "hits.geojson"
    assert main(["search", str(path), *at, "-k", "20", "--out", str(out)]) == 0
    fc = json.loads(out.read_text())
    cli_scores = [f["properties"]["score"] for f in fc["features"]]
    np.testing.assert_allclose(cli_scores, app.outcome.result.scores[: len(cli_scores)], atol=1e-4)
    assert fc["terrafind"]["similarity"] == "centred cosine"
    out2 = tmp_path / "plain.geojson"
    assert main(["search", str(path), *at, "-k", "20", "--similarity", "cosine", "--out", str(out2)]) == 0
    fc2 = json.loads(out2.read_text())
    assert fc2["terrafind"]["similarity"] == "cosine"
    assert min(f["properties"]["score"] for f in fc2["features"]) > 0.97
    capsys.readouterr()


def test_a_field_pack_of_part_of_the_region_scores_as_the_app_did(planted, tmp_path):
    from terrafind.core.pack.build import build_pack

    path, _ = planted
    app = Session.open([path])
    b = app.catalog.bounds
    part = Region(bbox=(b[0], b[1], (b[0] + b[2]) / 2, b[3]))
    pack = build_pack([path], part, tmp_path / "pack", centre=app.catalog.centre)
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["centre"]["similarity"] == "centred cosine"
    assert len(manifest["centre"]["mean"]) == D
    field = Session.open([pack])
    np.testing.assert_allclose(field.catalog.centre, app.catalog.centre)
    chip = str(field.catalog.ids[0])
    for s in (app, field):
        s.set_example(int(s.catalog.row_of(chip)), "positive")
        s.params["k"] = 30
    a, f = app.run_search("plain").result, field.run_search("plain").result
    a_by_id = dict(zip(app.catalog.ids[a.rows], a.scores, strict=True))
    common = [
        (s_, a_by_id[i]) for i, s_ in zip(field.catalog.ids[f.rows], f.scores, strict=True) if i in a_by_id
    ]
    assert len(common) >= 10
    np.testing.assert_allclose(*np.array(common).T, atol=1e-4)


def test_several_dates_share_one_mean(tmp_path):
    from synth import write_dated

    files = write_dated(tmp_path, shift=0.3)
    s = Session.open([str(p) for p in files["paths"]])
    cats = [sl.catalog for sl in s.dates.slices]
    assert all(c.is_centred for c in cats)
    for c in cats[1:]:
        np.testing.assert_array_equal(c.centre, cats[0].centre)
    sizes = np.array([len(c) for c in cats], float)
    joint = sizes @ np.stack([c.uncentred().own_mean() for c in cats]) / sizes.sum()
    np.testing.assert_allclose(cats[0].centre, joint, atol=1e-6)


def test_switching_lets_a_graph_process_of_the_other_space_go(planted):
    path, _ = planted
    s = Session.open([path])

    class Remote:  # stands for terrafind.core.search.server.RemoteIndex
        closed = 0

        def close(self):
            self.closed += 1

    remote = Remote()
    s.index = remote
    s.set_centred(False)
    assert remote.closed == 1 and s.index is None
