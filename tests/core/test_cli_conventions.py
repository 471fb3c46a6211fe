"""What people expect of a command: --version on both commands, python -m terrafind, a quiet exit when the
reader of its output goes away (`terrafind-cli search ... | head`), a log file that names no place."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import terrafind
from terrafind.core.cli.main import EXIT_CLOSED_PIPE, main

CLI = [sys.executable, "-m", "terrafind.core.cli.main"]


def _env(tmp_path) -> dict:
    return dict(os.environ, TERRAFIND_HOME=str(tmp_path / "home"))


def test_version_on_both_commands(tmp_path, capsys):
    with pytest.raises(SystemExit):  # argparse's version action prints and exits
        from terrafind.core.cli.main import build_parser

        build_parser().parse_args(["--version"])
    assert capsys.readouterr().out.strip() == f"terrafind {terrafind.__version__}"
    assert main(["--version"]) == 0
    for cmd in ([*CLI, "--version"], [sys.executable, "-m", "terrafind", "--version"]):
        done = subprocess.run(
            cmd, capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, timeout=60
        )
        assert done.returncode == 0 and done.stdout.strip() == f"terrafind {terrafind.__version__}", done


def _search(ei_file) -> list[str]:
    lon, lat = ei_file["centres"][3]
    return [*CLI, "search", str(ei_file["path"]), f"--at={lon:.6f},{lat:.6f}", "-k", "200"]


def test_a_closed_pipe_ends_the_cli_quietly(ei_file, tmp_path):
    # A real pipe whose reader is gone before the CLI writes (what `| head` does once it has its lines).
    proc = subprocess.Popen(
        _search(ei_file), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(tmp_path), cwd=tmp_path
    )
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_CLOSED_PIPE
    assert err == "", err  # no "BrokenPipeError", no "Exception ignored", no traceback


def test_piped_into_head(ei_file, tmp_path):
    line = " ".join(f"'{a}'" for a in _search(ei_file))
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {line} | head -n 1"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert done.stdout.startswith("Searched ") and len(done.stdout.splitlines()) == 1
    assert done.returncode in (0, EXIT_CLOSED_PIPE) and done.stderr == "", done.stderr


def test_the_cli_logs_its_verb_and_errors_but_no_arguments(ei_file, terrafind_home, capsys):
    # A place outside the data: a bad-input error, logged as a warning after the verb.
    assert main(["search", str(ei_file["path"]), "--at=10.812345,50.456789", "-k", "5"]) == 2
    assert "terrafind-cli: " in capsys.readouterr().err
    log = (terrafind_home / "log" / "terrafind-cli.log").read_text()
    verb_line = next(line for line in log.splitlines() if "command search" in line)
    assert verb_line.endswith("INFO terrafind.cli: command search")  # no place, no file
    assert "WARNING terrafind.cli:" in log
