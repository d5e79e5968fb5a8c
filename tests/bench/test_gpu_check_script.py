"""benchmarks/gpu_check.sh: its options, and one step run here (the GPU steps themselves need a GPU)."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import minicnn as mc

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.sh"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run(*args, cwd=None):
    # the active environment's python first on PATH, for --active-env
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


def test_help_lists_the_options():
    done = run("--help")
    assert done.returncode == 0
    for option in ("--active-env", "--venv", "--cuda 12|13", "--torch", "--only"):
        assert option in done.stdout


@pytest.mark.parametrize("args, message", [
    (("--cuda", "11"), "--cuda must be 12 or 13"),
    (("--bogus",), "unknown option --bogus"),
    (("--only", "info"), "--only needs --venv DIR or --active-env"),
])
def test_bad_options_exit_2(args, message):
    done = run(*args)
    assert done.returncode == 2 and message in done.stderr


def test_one_step_writes_its_log_and_the_summary(tmp_path):
    out = tmp_path / "results"
    done = run("--active-env", "--only", "cuda-available", "results", cwd=tmp_path)  # relative to the caller
    has_gpu = mc.cuda.unavailable_reason() is None
    assert done.returncode == (0 if has_gpu else 1), done.stdout + done.stderr
    assert f"minicnn.cuda.is_available(): {has_gpu}" in (out / "cuda-available.log").read_text()
    summary = (out / "summary.txt").read_text()
    assert "cuda-available" in summary and "pytest-cuda" not in summary
    assert (out / "steps.tsv").read_text().startswith(f"cuda-available\t{0 if has_gpu else 1}\t")
    assert (out / "pip-freeze.txt").exists() and (out / "git.txt").exists()


def test_shellcheck_is_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    done = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
