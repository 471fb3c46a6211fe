"""The hostile corpus as a table: one entry per kind of crafted input, made in a folder, with the CLI run
that meets it and what the run must say. tests/hostile/test_hostile_matrix.py runs every entry under the
same five checks (see there); the other test_hostile_*.py files go deeper into each family and into the
running app.

Each maker gets (folder, port of the recording server) and returns a :class:`Kind`.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from corpus import chip_boxes, write_geoparquet, write_huge_claim, write_repeated_text

AT = "--at=-75.9,37.3"
BOX = "--bbox=-75.95,37.25,-75.55,37.65"


@dataclass
class Kind:
    args: list[str]  # the terrafind-cli arguments
    code: int  # the exit code it must give (2: refused with one sentence)
    words: str = ""  # a phrase the sentence (exit 2) or the output (exit 0) must hold
    env: dict[str, str] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()  # files the run may create in the folder (what the person asked for)


def _data(folder: Path, name: str = "data.parquet", **columns) -> Path:
    n = 64
    vectors = np.random.default_rng(7).standard_normal((n, 8)).astype(np.float32)
    extra = {k: [v] * n for k, v in columns.items()}
    return write_geoparquet(folder / name, vectors, chip_boxes(n), **extra)


def _pack(folder: Path) -> Path:
    from terrafind.core.pack.build import build_pack
    from terrafind.core.types import Region

    return build_pack([_data(folder)], Region.from_bbox(-75.95, 37.25, -75.55, 37.65), folder / "pack")


def _tamper(pack: Path, change: Callable[[dict], None]) -> Path:
    m = json.loads((pack / "manifest.json").read_text())
    change(m)
    (pack / "manifest.json").write_text(json.dumps(m))
    return pack


def _address(text: str, words: str) -> Callable[[Path, int], Kind]:
    return lambda folder, port: Kind(["info", text.format(port=port)], 2, words)


def _project(folder: Path, port: int) -> Kind:
    from terrafind.core.project import Project, save_project

    path = save_project(
        Project(sources=[f"s3://b/x.parquet?endpoint_override=127.0.0.1:{port}&scheme=http"]),
        folder / "p.terrafind",
    )
    return Kind(["search", str(path)], 2, "options after")


def _absolute_entry(folder: Path, port: int) -> Kind:
    secret = _data(folder, "secret.parquet")

    def change(m: dict) -> None:
        m["files"][str(secret)] = {
            "bytes": secret.stat().st_size,
            "sha256": hashlib.sha256(secret.read_bytes()).hexdigest(),
        }
        m["parts"]["embeddings"] = [str(secret)]

    return Kind(["search", str(_tamper(_pack(folder), change)), AT], 2, "absolute path")


def _dotdot_entry(folder: Path, port: int) -> Kind:
    def change(m: dict) -> None:
        first = m["parts"]["embeddings"][0]
        m["parts"]["embeddings"] = ["embeddings/../../x.parquet"]
        m["files"]["embeddings/../../x.parquet"] = m["files"][first]

    return Kind(["search", str(_tamper(_pack(folder), change)), AT], 2, "outside the pack")


def _symlink_entry(folder: Path, port: int) -> Kind:
    pack = _pack(folder)
    target = folder / "outside.sqlite"
    shutil.copy(pack / "thumbnails.sqlite", target)
    (pack / "thumbnails.sqlite").unlink()
    (pack / "thumbnails.sqlite").symlink_to(target)
    return Kind(["search", str(pack), AT], 2, "outside the pack")


def _unlisted_part(folder: Path, port: int) -> Kind:
    return Kind(
        ["search", str(_tamper(_pack(folder), lambda m: m["files"].pop(m["parts"]["embeddings"][0]))), AT],
        2,
        "sha256",
    )


def _manifest_bomb(folder: Path, port: int) -> Kind:
    pack = _pack(folder)
    (pack / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    return Kind(["search", str(pack), AT], 2, "")


def _places(body: str, suffix: str, words: str, binary: bytes | None = None) -> Callable[[Path, int], Kind]:
    def make(folder: Path, port: int) -> Kind:
        path = folder / f"places{suffix}"
        path.write_bytes(binary) if binary is not None else path.write_text(body)
        return Kind(["search", str(_data(folder)), "--labels", str(path)], 2, words)

    return make


def _kmz_bomb() -> bytes:
    from terrafind.core.limits import MAX_KMZ_ENTRY_BYTES

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("doc.kml", "w") as fh:
            chunk = b" " * (1 << 20)
            for _ in range(MAX_KMZ_ENTRY_BYTES // len(chunk) + 2):
                fh.write(chunk)
    return buf.getvalue()


_LOL = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
_VRT = '<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>'


def _footer_promise(folder: Path, port: int) -> Kind:
    path = write_huge_claim(folder / "promise.parquet", rows=20_000, dim=1024)
    return Kind(["search", str(path), AT], 2, "smaller region", env={"TERRAFIND_MAX_MEMORY": "60MB"})


def _long_lists(folder: Path, port: int) -> Kind:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    n = 10
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * 2_000_000)
    emb = pa.ListArray.from_arrays(offsets, pa.array(np.zeros(n * 2_000_000, np.float32)))
    path = folder / "long.parquet"
    pq.write_table(
        pa.table(
            {"id": [f"c{i}" for i in range(n)], "embedding": emb, "geometry": shapely.to_wkb(chip_boxes(n))}
        ),
        path,
    )
    return Kind(["search", str(path), AT], 2, "smaller region", env={"TERRAFIND_MAX_MEMORY": "50MB"})


def _repeated_text(folder: Path, port: int) -> Kind:
    return Kind(["search", str(write_repeated_text(folder / "rep.parquet")), AT, "-k", "3"], 0, "Searched")


def _all_bad_geometry(folder: Path, port: int) -> Kind:
    import warnings

    import shapely

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        nan = shapely.Polygon([(-75.9, 37.3), (float("nan"), 37.31), (-75.89, 37.31), (-75.9, 37.3)])
        geoms = np.array([nan, shapely.Polygon()] * 5)
    vectors = np.random.default_rng(1).standard_normal((10, 8)).astype(np.float32)
    return Kind(
        ["search", str(write_geoparquet(folder / "bad.parquet", vectors, geoms)), AT], 2, "usable geometry"
    )


def _metadata_bomb(folder: Path, port: int) -> Kind:
    import pyarrow.parquet as pq

    path = _data(folder)
    pq.write_table(
        pq.read_table(path).replace_schema_metadata({b"geo": b"[" * 100_000 + b"]" * 100_000}), path
    )
    return Kind(["info", str(path)], 0, "rows")


def _export_over_data(folder: Path, port: int) -> Kind:
    data = _data(folder)
    return Kind(["search", str(data), AT, "--out", str(data)], 2, "cannot write data.parquet")


def _export_over_other_kind(folder: Path, port: int) -> Kind:
    data = _data(folder)
    disguised = folder / "field.gpx"
    disguised.write_bytes(data.read_bytes())
    return Kind(["search", str(data), AT, "--out", str(disguised)], 2, "GeoParquet")


def _pack_over_pack(folder: Path, port: int) -> Kind:
    pack = _pack(folder)
    return Kind(
        ["pack", str(pack / "embeddings" / "data.parquet"), BOX, "--out", str(pack)], 2, "holds the open data"
    )


def _embed_over_image(folder: Path, port: int) -> Kind:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from imagery_synth import write_cog

    image = write_cog(folder / "scene.tif", (-75.70, 37.60, -75.66, 37.63), res=20.0)
    return Kind(["embed", str(image), "--out", str(image)], 2, "does not end in .parquet")


def _image_vrt(folder: Path, port: int, name: str) -> Path:
    image = folder / name
    image.write_text(
        '<VRTDataset rasterXSize="64" rasterYSize="64"><SRS>EPSG:4326</SRS>'
        '<GeoTransform>-75.7, 0.0001, 0, 37.6, 0, -0.0001</GeoTransform><VRTRasterBand dataType="Byte" band="1">'
        f"<SimpleSource><SourceFilename>/vsicurl/http://127.0.0.1:{port}/scene.tif</SourceFilename>"
        "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>"
    )
    return image


def _embed_disguised_vrt(folder: Path, port: int) -> Kind:
    image = _image_vrt(folder, port, "scene.tif")  # VRT XML under a GeoTIFF's name
    return Kind(["embed", str(image), "--out", str(folder / "e.parquet")], 2, "is not an image")


def _embed_vrt_naming_a_host(folder: Path, port: int) -> Kind:
    image = _image_vrt(folder, port, "scene.vrt")
    return Kind(["embed", str(image), "--out", str(folder / "e.parquet")], 2, "GDAL virtual paths")


def _pipe_in_a_project(folder: Path, port: int) -> Kind:
    import os

    from terrafind.core.project import Project, save_project

    pipe = folder / "data.parquet"
    os.mkfifo(pipe)  # opening it would wait for a writer for ever
    path = save_project(Project(sources=[str(pipe)]), folder / "p.terrafind")
    return Kind(["search", str(path), AT], 2, "not an ordinary file")


def _project_file(body: bytes, words: str) -> Callable[[Path, int], Kind]:
    def make(folder: Path, port: int) -> Kind:
        path = folder / "p.terrafind"
        path.write_bytes(body)
        return Kind(["search", str(path), AT], 2, words)

    return make


def _template_format_spec(folder: Path, port: int) -> Kind:
    return Kind(
        [
            "pack",
            str(_data(folder)),
            BOX,
            "--imagery",
            "https://t.example.org/{z}/{x:>2000000000}/{y}.png",
            "--out",
            str(folder / "p"),
        ],
        2,
        "placeholders other",
    )


def _device_source(folder: Path, port: int) -> Kind:
    data = _data(folder, source_url="/dev/zero")
    return Kind(
        ["pack", str(data), BOX, "--out", str(folder / "p")],
        0,
        "thumbnails could not be made",
        outputs=("p",),
    )


def _sensitive_export(folder: Path, port: int) -> Kind:
    from terrafind.core.project import save_project
    from terrafind.core.session import Session

    s = Session.open([_data(folder)])
    s.set_example(0, "positive")
    s.mark_sensitive(True)
    path = save_project(s.to_project(), folder / "secret.terrafind")
    return Kind(["search", str(path), "--out", str(folder / "hits.geojson")], 2, "marked sensitive")


KINDS: dict[str, Callable[[Path, int], Kind]] = {
    "s3 endpoint_override in a path": _address(
        "s3://b/x.parquet?endpoint_override=127.0.0.1:{port}&scheme=http", "options after"
    ),
    "gs with options": _address("gs://b/x.parquet?endpoint_override=127.0.0.1:{port}", "options after"),
    "GDAL streaming path": _address(
        " /vsicurl_streaming/http://127.0.0.1:{port}/x.parquet", "GDAL virtual paths"
    ),
    "zip+https scheme": _address("zip+https://127.0.0.1:{port}/a.zip", "are not read"),
    "ftp address": _address("ftp://127.0.0.1:{port}/x.parquet", "are not read"),
    "az address": _address("az://container/x.parquet", "are not read"),
    "network share": _address("//127.0.0.1/share/x.parquet", "network shares"),
    "project with endpoint_override": _project,
    "pack entry with an absolute path": _absolute_entry,
    "pack entry with ..": _dotdot_entry,
    "pack symlink out of the pack": _symlink_entry,
    "pack part without sha256": _unlisted_part,
    "pack manifest bomb": _manifest_bomb,
    "footer promising a huge matrix": _footer_promise,
    "lists of millions of values": _long_lists,
    "one long text repeated": _repeated_text,
    "only broken geometry": _all_bad_geometry,
    "metadata bomb": _metadata_bomb,
    "GPX namespace flood": _places(
        '<?xml version="1.0"?><gpx version="1.1"' + ' xmlns="x"' * 20_000 + "></gpx>", ".gpx", "namespaces"
    ),
    "KML entity bomb": _places(
        f'<?xml version="1.0"?><!DOCTYPE kml [{_LOL}]><kml><name>&l9;</name></kml>', ".kml", "entities"
    ),
    "KMZ bomb": lambda folder, port: _places("", ".kmz", "far too large", _kmz_bomb())(folder, port),
    "GeoJSON nested 100k deep": _places("[" * 100_000 + "]" * 100_000, ".geojson", "GeoJSON"),
    "CSV cell of 500 KB": _places("lat,lon,name\n37.3,-75.9," + "x" * 500_000 + "\n", ".csv", "not numbers"),
    "VRT disguised as a shapefile": _places(_VRT, ".shp", "is not a"),
    "export over the data": _export_over_data,
    "export over a file of another kind": _export_over_other_kind,
    "pack over the pack in use": _pack_over_pack,
    "embeddings over their image": _embed_over_image,
    "image to embed that is a VRT in disguise": _embed_disguised_vrt,
    "VRT to embed naming a web host": _embed_vrt_naming_a_host,
    "tile template with a format spec": _template_format_spec,
    "project naming a pipe as its data": _pipe_in_a_project,
    "project of nested brackets": _project_file(b"[" * 200_000 + b"]" * 200_000, "not valid JSON"),
    "project that is not text": _project_file(b"\xff\xfe\x00" * 1000, "not text"),
    "source_url naming a device": _device_source,
    "sensitive project exported precisely": _sensitive_export,
}
