"""Every kind of the hostile corpus (tests/hostile/kinds.py) under the same five checks, in the CLI:

1. one clear sentence: exit 2 with one line on stderr (or, for the kinds that open, exit 0 and a note),
   never a traceback;
2. nothing written outside where the person asked: the input folder and the home folder are unchanged
   but for the outputs the command was asked for;
3. no network: every HTTP(S) proxy variable points at a recording server on 127.0.0.1, and the addresses
   in the inputs name it too; it sees not one request;
4. memory bounded: the run's peak resident memory stays under 1.2 GB (the crafted files promise up to
   16 GB);
5. usable afterwards: an ordinary file opens in the next run, with the same home (settings, caches).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from kinds import KINDS
from recorder import recorder

PROXIES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")
MAX_RSS = 1_200_000_000


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for p in sorted(folder.rglob("*")):
        try:
            st = p.lstat()
        except OSError:
            continue
        out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def _run(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "terrafind.core.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    peak, watched = 0, psutil.Process(proc.pid)
    deadline = time.monotonic() + 120  # a run that hangs (a pipe, a stalled host) fails, never waits
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            pytest.fail(f"terrafind-cli {' '.join(args)[:200]} did not finish within 120 s")
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    out, err = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), peak


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_meets_the_five_checks(name, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    home = Path(os.environ["HOME"])
    with recorder() as (port, seen):
        kind = KINDS[name](folder, port)
        env = {**os.environ, **{k: f"http://127.0.0.1:{port}" for k in PROXIES}, **kind.env}
        env.pop("no_proxy", None), env.pop("NO_PROXY", None)
        before, home_before = _tree(folder), _tree(home)
        run, rss = _run(kind.args, env)
        # 1. one clear sentence
        assert "Traceback" not in run.stderr, run.stderr
        assert run.returncode == kind.code, (run.returncode, run.stdout[-500:], run.stderr[-500:])
        if kind.code == 2:
            lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("terrafind-cli: "), run.stderr
            assert kind.words in lines[0], lines[0]
        else:
            assert kind.words in run.stdout, run.stdout[-800:]
        # 2. nothing written outside where the person asked
        after = _tree(folder)
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert all(k.split(os.sep)[0] in kind.outputs for k in changed), sorted(changed)[:5]
        assert _tree(home) == home_before
        # 3. no network
        assert seen == []
        # 4. memory bounded
        assert rss < MAX_RSS, f"{rss / 1e9:.2f} GB"
        # 5. usable afterwards
        good = tmp_path / "good"
        good.mkdir()
        from kinds import _data

        again, _ = _run(["info", str(_data(good))], env)
        assert again.returncode == 0 and "rows" in again.stdout, again.stderr
        assert seen == []


def test_the_corpus_has_at_least_25_kinds():
    assert len(KINDS) >= 25
