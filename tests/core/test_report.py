"""The log file (rotating, in the user's log folder, under TERRAFIND_HOME in tests) and the problem report,
which must never carry the user's data: no coordinates, numbers, file names or web addresses."""

from __future__ import annotations

import logging
import platform

import platformdirs
import pytest

import terrafind
from terrafind.core import logs, paths
from terrafind.core.report import last_lines, problem_report, scrub


@pytest.fixture
def logging_to_file(terrafind_home):
    path = logs.start_logging("terrafind")
    yield path
    logs.stop_logging()


def test_log_file_is_in_the_homes_log_folder_and_rotates(logging_to_file, terrafind_home):
    assert logging_to_file == terrafind_home / "log" / "terrafind.log"
    assert "terrafind 0.1.0 started" in logging_to_file.read_text()
    assert logs.MAX_BYTES == 1_000_000 and logs.BACKUPS == 3  # at most 4 MB of logs on a field laptop
    # The same rotation with 10 kB files, so the test writes 50 kB rather than 4 MB.
    path = logs.start_logging("terrafind", max_bytes=10_000)
    chatty = logging.getLogger("terrafind.test")
    for i in range(50):
        chatty.info("%d %s", i, "x" * 1000)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["terrafind.log", "terrafind.log.1", "terrafind.log.2", "terrafind.log.3"]
    assert all(p.stat().st_size <= 10_000 for p in path.parent.iterdir())
    assert "49 xxx" in path.read_text()
    # Starting again (a second window, another home) replaced the handler instead of adding one.
    ours = [h for h in logging.getLogger().handlers if isinstance(h, logs._TerrafindFileHandler)]
    assert len(ours) == 1


def test_without_terrafind_home_logs_go_to_the_platforms_log_folder(monkeypatch):
    monkeypatch.delenv("TERRAFIND_HOME")
    assert paths.log_dir() == __import__("pathlib").Path(platformdirs.user_log_dir("terrafind"))


def test_last_lines_reach_into_the_previous_file(tmp_path):
    log = tmp_path / "terrafind.log"
    (tmp_path / "terrafind.log.1").write_text("".join(f"old {i}\n" for i in range(300)))
    log.write_text("new 0\nnew 1\n")
    assert last_lines(log, 4) == ["old 298", "old 299", "new 0", "new 1"]
    assert last_lines(tmp_path / "missing.log") == []


SECRETS = [
    "-75.81234",
    "37.45678",
    "-75.95",
    "37.65",
    "alice",
    "Pucallpa",
    "nest site",
    "tiles.example.org",
    "key=abc123",
    "ranger@example.org",
    "512345",
    "4178901",
    "0.8734",
]


def test_report_has_versions_and_system_and_never_the_users_data(logging_to_file):
    log = logging.getLogger("terrafind.gui")
    log.info("clicked at -75.81234, 37.45678 in /home/alice/Pucallpa/nest site.parquet, score 0.8734")
    log.warning("basemap https://tiles.example.org/{z}/{x}/{y}.png?key=abc123 did not answer")
    log.info("bbox (-75.95, 37.25, -75.55, 37.65); UTM 512345 4178901; sent by ranger@example.org")
    try:
        raise ValueError("no chip at -75.81234, 37.45678")
    except ValueError:
        log.exception("unexpected error")
    raw = logging_to_file.read_text()
    assert all(secret in raw for secret in SECRETS)  # the user's own log keeps them (on their machine)

    report = problem_report("terrafind", {"Display": "offscreen, scale 1"})
    leaked = [secret for secret in SECRETS if secret.lower() in report.lower()]
    assert not leaked, leaked
    # What a developer needs is still there.
    assert f"terrafind {terrafind.__version__}" in report and "chroma-hnswlib 0.7.6" in report
    assert f"Python {platform.python_version()}" in report and platform.system() in report
    assert "GDAL" in report and "Display: offscreen, scale 1" in report
    assert "clicked at <n>, <n> in <file.parquet>, score <n>" in report
    assert "ValueError: no chip at <n>, <n>" in report and 'core/test_report.py", line' in report
    assert "<https address> did not answer" in report


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("at -75.8,37.4 then", "at <n>,<n> then"),
        ("POINT (-75.8 37.4)", "POINT (<n> <n>)"),
        ("lat 37,4567", "lat <n>"),
        ("Python 3.11.7 PySide6 6.12.0", "Python 3.11.7 PySide6 6.12.0"),
        ("rows 300 k=200", "rows 300 k=200"),
        (r"C:\Users\ana\Field work\sites.gpx not found", "<file.gpx> not found"),
        ("see ~/data/x.tif and and/or 1/2", "see <file.tif> and and/or 1/2"),
        ("open /home/al/notes about the camp", "open <path>"),
        ("file:///home/al/a.tif", "<file address>"),
    ],
)
def test_scrub(text, want):
    assert scrub(text) == want
