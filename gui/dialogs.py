"""What the menu entries ask before they act: file dialogs, the imagery dialog, About.

Every function takes the main window; the work itself goes to the controller and its flows. File dialogs
start in the last folder the user chose in one, else the folder of the most recent file, else the user's
documents: never inside the app's own folders (the demo region lives there; an export saved there is lost).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

from terrafind.core.paths import is_app_folder

__all__ = [
    "start_dir",
    "remember_folder",
    "ask_save_path",
    "open_file",
    "open_folder",
    "open_project",
    "save_project",
]

# Every suffix the reader takes (core.read.sources.SUFFIXES), projects, and anything else.
DATA_FILTER = "Embeddings (*.parquet *.gpq *.geoparquet *.terrafind);;Projects (*.terrafind);;All files (*)"
PROJECT_FILTER = "Projects (*.terrafind)"
DEFAULT_NAMES = {"hits": "hits.geojson", "sites": "sites.geojson", "labels": "labels.geojson"}


def documents_dir() -> str:
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return docs if docs and Path(docs).is_dir() else str(Path.home())


def start_dir(window) -> str:
    """Where a file dialog opens (see the module docstring)."""
    settings = window.settings
    last = settings.last_dir() if hasattr(settings, "last_dir") else None
    candidates = [last] + [str(Path(p).parent) for p in settings.recent()]
    for folder in candidates:
        if folder and Path(folder).is_dir() and not is_app_folder(folder):
            return str(folder)
    return documents_dir()


def remember_folder(window, path: str) -> str:
    """Remember the folder of a path the user chose in a dialog (not the app's own): the next dialog opens
    there. Returns ``path``."""
    if path and hasattr(window.settings, "set_last_dir"):
        p = Path(path)
        folder = p if p.is_dir() else p.parent
        if folder.is_dir() and not is_app_folder(folder):
            window.settings.set_last_dir(str(folder))
    return path


def ask_save_path(
    window: QWidget, title: str, default_name: str, formats: dict[str, str]
) -> tuple[str, str | None] | None:
    """Ask where to save; ``formats`` maps dialog filters to format keys. Returns (path, format) or None.

    The chosen filter decides the format and the name gets its suffix: added when missing or unknown
    ("data.parquet" with GPX becomes "data.parquet.gpx"), replaced when it is another format's.
    """
    path, chosen = QFileDialog.getSaveFileName(
        window, title, str(Path(start_dir(window)) / default_name), ";;".join(formats)
    )
    if not path:
        return None
    remember_folder(window, path)
    fmt = formats.get(chosen)
    if fmt:
        from terrafind.core.export.formats import name_for

        path = name_for(path, fmt)  # the format is the filter's and the name says so (never data.parquet)
    return path, fmt


def open_file(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open embeddings", start_dir(window), DATA_FILTER)
    if path:
        window.open_path(remember_folder(window, path))


def open_folder(window) -> None:
    path = QFileDialog.getExistingDirectory(window, "Open a folder of GeoParquet files", start_dir(window))
    if path:
        window.open_path(remember_folder(window, path))


def open_project(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open project", start_dir(window), PROJECT_FILTER)
    if path:
        window.open_path(remember_folder(window, path))


def save_project(window) -> None:
    if window.c.session.project_path:
        _save(window, window.c.session.project_path)
    else:
        save_project_as(window)


def save_project_as(window) -> None:
    path, _ = QFileDialog.getSaveFileName(window, "Save project", start_dir(window), PROJECT_FILTER)
    if path:
        _save(window, remember_folder(window, path))


def _save(window, path: str) -> None:
    try:
        window.c.projects.save(path)
    except Exception as exc:  # noqa: BLE001 - shown in the message bar
        window.c.report_error(exc)


def export(window, what: str) -> None:
    """File > Export hits / sites / labels: ask where, in which format, then write in a job (a project
    marked sensitive asks how precisely first: terrafind.gui.sensitive)."""
    from terrafind.gui import sensitive

    sensitive.export(window, what)


def export_raster(window) -> None:
    """File > Export scores as raster...: every chip's score of the last search as a GeoTIFF (COG)."""
    c = window.c
    if c.shown is None:
        c.say("Search first: the raster holds the scores of a search.")
        return
    stem = Path(c.session.sources[0]).stem if c.session.sources else "scores"
    asked = ask_save_path(
        window, "Export scores as raster", f"{stem}-scores.tif", {"GeoTIFF (*.tif *.tiff)": ""}
    )
    if asked:
        path = asked[0] if asked[0].lower().endswith((".tif", ".tiff")) else asked[0] + ".tif"
        c.data.export_raster(path)


def import_places(window) -> None:
    from terrafind.gui.flows.import_flow import PLACE_FILTER

    path, _ = QFileDialog.getOpenFileName(window, "Import places", start_dir(window), PLACE_FILTER)
    if path:
        window.c.importer.import_places(remember_folder(window, path))


def clear_masks(window) -> None:
    """Search > Clear excluded places, as one undoable step."""
    from terrafind.gui.flows.import_flow import PlacesCommand

    c = window.c
    c.undo_stack.push(PlacesCommand(c, {}, set(), "Clear excluded places"))


def imagery(window) -> None:
    """File > Imagery for thumbnails and basemap...: a window-modal dialog (no nested event loop)."""
    from terrafind.gui.panels.imagery_dialog import ImageryDialog

    c = window.c
    if c.session.catalog is None:
        c.say("Open data first, then choose the imagery for it.")
        return
    if window.imagery_dialog is None:
        files = c.session.data_files()
        near_data = str(Path(files[0]).parent) if files else ""
        start = near_data if near_data and not is_app_folder(near_data) else start_dir(window)
        window.imagery_dialog = ImageryDialog(c.imagery, window, start)
    window.imagery_dialog.show_current()
    window.imagery_dialog.open()


def create_embeddings(window) -> None:
    images, _ = QFileDialog.getOpenFileNames(
        window, "Imagery to embed", start_dir(window), "GeoTIFF / COG (*.tif *.tiff *.vrt)"
    )
    if not images:
        return
    remember_folder(window, images[0])
    out, _ = QFileDialog.getSaveFileName(
        window,
        "Save the embeddings as",
        str(Path(images[0]).with_suffix(".parquet")),
        "GeoParquet (*.parquet)",
    )
    if out:
        window.c.data.embed(images, out)


def prepare_pack(window) -> None:
    """A field pack of the chosen region, or of what the map shows when no region is chosen."""
    from terrafind.core.types import Region

    c = window.c
    s = c.session
    region = s.region
    if region is None and window.view_bounds is not None and s.catalog is not None:
        vw, vs, ve, vn = window.view_bounds
        dw, ds, de, dn = s.catalog.bounds
        box = (max(vw, dw), max(vs, ds), min(ve, de), min(vn, dn))  # the view, clipped to the data
        if box[0] < box[2] and box[1] < box[3]:
            region = Region.from_bbox(*box)
    if region is None:
        c.say("Open data and zoom the map to the area you need (or draw a region) first.")
        return
    from terrafind.core.outputs import free_pack_folder

    protected = s.protected_paths()
    start = start_dir(window)
    if s.pack is not None and Path(start).resolve().is_relative_to(Path(s.pack.root).resolve()):
        start = str(Path(s.pack.root).resolve().parent)  # never propose the pack in use (or a folder in it)
    folder = QFileDialog.getExistingDirectory(window, "Where to put the field pack", start)
    if folder:
        remember_folder(window, folder)
        name = Path(s.sources[0]).stem if s.sources else "terrafind"
        credits = demo_credits(window)  # the demos' imagery credits go along
        try:  # a new folder in the chosen one, never the pack in use nor a folder holding the data
            out = free_pack_folder(folder, name, protected)
        except Exception as exc:  # noqa: BLE001 - one sentence in the message bar
            c.report_error(exc)
            return
        c.packs.prepare(str(out), region, credits)


def about(window) -> None:
    """Help > About Terrafind: version, the help page, credits (the demo's Copernicus credit when open)."""
    from terrafind.gui.panels.help_page import AboutDialog

    credits = " ".join(demo_credits(window))
    window.about_dialog = AboutDialog(window, credits=credits, on_help=lambda: how_to_search(window))
    window.about_dialog.open()


def report_problem(window) -> None:
    """Help > Report a problem: the prefilled report (versions, system, scrubbed log lines) to send."""
    from terrafind.gui.panels.report_dialog import ReportDialog

    window.report_dialog = ReportDialog(window, start_dir=start_dir(window))
    window.report_dialog.open()


def how_to_search(window) -> None:
    """Help > How to search: the page in a window of its own beside the main window."""
    from terrafind.gui.panels.help_page import HelpPage

    if getattr(window, "help_page", None) is None:
        window.help_page = HelpPage(window)
    window.help_page.show()
    window.help_page.raise_()


def demo_credits(window) -> list[str]:
    """The credit lines of the demo imagery on show: the Sentinel-2 demo's, the Landsat demo's."""
    demos = [window.demo, getattr(getattr(window, "dates_ui", None), "pucallpa", None)]
    return [d.attribution for d in demos if d is not None and d.attribution]


def open_dates(window) -> None:
    """File > Open several dates: files (or folders) of one region, each with its date."""
    from terrafind.gui.panels.dates_dialog import DatesDialog

    dialog = DatesDialog(window, start_dir(window))
    if dialog.exec():
        paths, dates = dialog.result_paths()
        if paths:
            window.c.data.open_paths(paths, dates=dates)


def clear_cache(window) -> None:
    """File > Clear app cache... (and the Data panel's "Clear..."): says what it frees, then clears every
    region's app cache but the open one's."""
    from terrafind.core.units import human_bytes
    from terrafind.gui import errors

    c = window.c
    info = c.cache.info()
    others = info["total"] - (info["region"] or 0)
    count = info["regions"] - (1 if info["region"] is not None else 0)
    if count <= 0:
        c.say("The app cache holds only the region that is open: nothing to clear.")
        return
    text = (
        f"Delete the app cache of {count} region{'s' if count != 1 else ''} ({human_bytes(others)})? "
        "They open again as they did the first time (read in full, then the search index built)."
    )
    if info["region"] is not None:
        text += " The open region keeps its cache."
    if errors.ask(window, "Clear app cache", text):
        c.cache.clear()


def improve(window) -> None:
    """Search > Improve automatically...: how many rounds, how many chips, how far; then the rounds run."""
    from terrafind.gui.panels.improve_dialog import ImproveDialog

    c = window.c
    catalog = c.session.catalog
    if catalog is None or c.shown is None:
        c.say("Search first: the rounds improve the hits of a search.")
        return
    dialog = ImproveDialog(catalog.chip_width_m(), window)
    window.improve_dialog = dialog  # tests reach the open dialog
    if _exec(dialog):
        c.rounds.start(dialog.options())
    window.improve_dialog = None


def _exec(dialog) -> bool:
    """Run a dialog; tests replace this (offscreen Qt cannot click a modal's buttons from outside)."""
    hook = DIALOG_HOOK.get("exec")
    return bool(hook(dialog)) if hook is not None else bool(dialog.exec())


DIALOG_HOOK: dict = {}


def network(window) -> None:
    """File > Network and permissions...: the open data's allowed sites and folders, plain http, and the
    buckets read with this computer's own credentials (terrafind.gui.panels.network_dialog)."""
    from terrafind.core.imagery.admit import catalog_key
    from terrafind.gui.panels.network_dialog import NetworkDialog

    catalog = window.c.session.catalog
    window.network_dialog = NetworkDialog(window, catalog_key(catalog) if catalog is not None else "")
    window.network_dialog.open()
