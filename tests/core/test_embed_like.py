"""``--like``: the filter bank in every output's footer, and new imagery embedded in an earlier file's space."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
from rasterio.transform import from_origin

from terrafind.core.embed.embedder import EmbedderParams, embed_array, embed_images, fit_embedder
from terrafind.core.embed.like import model_from_meta, model_to_meta
from terrafind.core.errors import InputError

SMALL = EmbedderParams(k=16, chip=16, stride=16)
WEST, NORTH = 440_000.0, 4_170_000.0


def _scene(seed: int, scale: float = 1.0, height: int = 96, width: int = 112) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.where(x < width // 2, 300.0, 1500.0 + 400.0 * np.sin(x / 2.0 + seed) * np.cos(y / 5.0))
    bands = [(base * f + rng.normal(0, 40, (height, width))) * scale for f in (1.0, 0.8, 1.3, 0.6)]
    return np.clip(np.stack(bands), 1, 60000).astype(np.uint16)


def _write(path, data, names=("swir", "nir", "red", "green")):
    c, h, w = data.shape
    with rasterio.open(
        path, "w", driver="GTiff", width=w, height=h, count=c, dtype=data.dtype.name,
        crs="EPSG:32618", transform=from_origin(WEST, NORTH, 10, 10),
    ) as dst:  # fmt: skip
        dst.write(data)
        dst.descriptions = tuple(names[:c])
    return path


def _emb(path) -> dict:
    return json.loads(pq.read_schema(path).metadata[b"emb"])


def _vectors(path) -> np.ndarray:
    t = pq.read_table(path, columns=["embedding"])
    return np.stack(t.column("embedding").to_numpy(zero_copy_only=False))


def test_every_output_stores_its_filter_bank_and_it_round_trips_exactly(tmp_path):
    img = _write(tmp_path / "a.tif", _scene(1))
    out = embed_images([img], tmp_path / "a.parquet", params=SMALL)
    stored = _emb(out)["model"]["filters"]
    model = fit_embedder([img], SMALL)
    back = model_from_meta(stored)
    assert np.array_equal(back.weights, model.weights) and np.array_equal(back.bias, model.bias)
    assert np.array_equal(back.band_mean, model.band_mean) and np.array_equal(back.band_std, model.band_std)
    assert (back.threshold, back.patch) == (model.threshold, model.patch)
    assert model_to_meta(back) == stored


def test_like_embeds_a_later_date_in_the_earlier_files_space_bit_for_bit(tmp_path):
    early = _write(tmp_path / "1985.tif", _scene(1))
    late = _write(tmp_path / "2020.tif", _scene(7))
    first = embed_images([early], tmp_path / "1985.parquet", params=SMALL)
    second = embed_images([late], tmp_path / "2020.parquet", like=first)
    # What the earlier run's filters make of the later image, computed in memory
    model = fit_embedder([early], SMALL)
    with rasterio.open(late) as src:
        data = src.read().astype(np.float32)
    feats, share = embed_array(data, np.ones(data.shape[1:], bool), model, SMALL)
    expected = feats.reshape(-1, feats.shape[-1])
    assert np.array_equal(_vectors(second), expected)
    # Filters of its own would differ: --like is what makes the two dates comparable
    own = embed_images([late], tmp_path / "own.parquet", params=SMALL)
    assert not np.allclose(_vectors(own), expected)
    emb = _emb(second)
    assert emb["model"]["filters"] == _emb(first)["model"]["filters"]
    assert emb["model"]["like"]["name"] == "1985.parquet"
    assert emb["model"]["params"]["chip"] == 16 and emb["model"]["params"]["k"] == 16


def test_like_refuses_other_settings_other_bands_and_foreign_files(tmp_path, ei_file):
    early = _write(tmp_path / "a.tif", _scene(1))
    first = embed_images([early], tmp_path / "a.parquet", params=SMALL)
    three = _write(tmp_path / "three.tif", _scene(2)[:3])
    with pytest.raises(
        InputError, match="3 bands but the filters of a.parquet were made on bands 1, 2, 3, 4"
    ):
        embed_images([three], tmp_path / "b.parquet", like=first)
    with pytest.raises(InputError, match="reuses the chip of a.parquet"):
        embed_images([early], tmp_path / "b.parquet", like=first, params=EmbedderParams(k=16, chip=32))
    with pytest.raises(InputError, match="not made by Terrafind's embedder"):
        embed_images([early], tmp_path / "b.parquet", like=ei_file["path"])
    # A file of an older Terrafind: settings but no filters
    table = pq.read_table(first)
    emb = _emb(first)
    del emb["model"]["filters"]
    meta = dict(table.schema.metadata)
    meta[b"emb"] = json.dumps(emb).encode()
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "old.parquet")
    with pytest.raises(InputError, match="older Terrafind that did not store its filters"):
        embed_images([early], tmp_path / "b.parquet", like=tmp_path / "old.parquet")
    # Damaged weights are caught by their checksum
    emb = _emb(first)
    emb["model"]["filters"]["weights"] = emb["model"]["filters"]["bias"] * 2
    meta[b"emb"] = json.dumps(emb).encode()
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "bad.parquet")
    with pytest.raises(InputError, match="damaged"):
        embed_images([early], tmp_path / "b.parquet", like=tmp_path / "bad.parquet")
    assert not (tmp_path / "b.parquet").exists()


def test_like_warns_about_another_scale_and_other_band_names(tmp_path):
    early = _write(tmp_path / "a.tif", _scene(1))
    first = embed_images([early], tmp_path / "a.parquet", params=SMALL)
    said: list[str] = []
    same = _write(tmp_path / "same.tif", _scene(3))
    embed_images([same], tmp_path / "same.parquet", like=first, warn=said.append)
    assert said == []
    scaled = _write(tmp_path / "scaled.tif", _scene(3, scale=20.0), names=("b1", "b2", "b3", "b4"))
    embed_images([scaled], tmp_path / "scaled.parquet", like=first, warn=said.append)
    assert any("different scales" in s for s in said)
    assert any("named b1, b2, b3, b4" in s for s in said)


def test_cli_embed_like(tmp_path, capsys):
    from terrafind.core.cli.main import main

    early = _write(tmp_path / "a.tif", _scene(1))
    late = _write(tmp_path / "b.tif", _scene(5))
    a = tmp_path / "a.parquet"
    assert (
        main(
            [
                "embed",
                str(early),
                "--out",
                str(a),
                "--chip",
                "16",
                "--stride",
                "16",
                "--filters",
                "8",
                "--quiet",
            ]
        )
        == 0
    )
    b = tmp_path / "b.parquet"
    assert main(["embed", str(late), "--like", str(a), "--out", str(b), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "in the space of" in out and "x 16 numbers" in out
    assert _emb(b)["model"]["filters"] == _emb(a)["model"]["filters"]
    assert main(["embed", str(late), "--like", str(a), "--chip", "8", "--out", str(b), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "leave out --chip" in err and "Traceback" not in err and err.count("\n") == 1
