"""The ``minicnn`` command line (``info`` for now)."""
import json
import subprocess
import sys

import minicnn
from minicnn.cli import collect_info, main


def test_info_prints_versions_backends_and_gpu(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"minicnn {minicnn.__version__}" in out
    assert "numpy" in out and "numba" in out and "GPU" in out
    assert "kernels (setting" in out


def test_info_json_matches_collect_info(capsys):
    main(["info", "--json"])
    printed = json.loads(capsys.readouterr().out)
    info = collect_info()
    assert printed["minicnn"] == info["minicnn"]
    assert printed["cuda_available"] == minicnn.cuda.is_available()


def test_python_dash_m_minicnn_runs():
    result = subprocess.run([sys.executable, "-m", "minicnn", "info"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "minicnn" in result.stdout


def test_importing_minicnn_does_not_import_numba():
    code = "import sys, minicnn, minicnn.nn; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
