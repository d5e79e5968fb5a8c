"""Install minicnn.

The repository keeps the kernels at its top level (``kernels/``) so that a
learner finds them beside the package; setuptools installs them as the
subpackage ``minicnn.kernels`` through ``package_dir``.  Both ``pip install .``
and ``pip install -e .`` honour that mapping.
"""
from setuptools import find_packages, setup

import re
from pathlib import Path

_here = Path(__file__).parent
_version = re.search(
    r'^__version__ = "([^"]+)"', (_here / "minicnn" / "__init__.py").read_text(), re.M
).group(1)

# GPU: CuPy ships one wheel per CUDA major version; its ``ctk`` extra brings
# the CUDA libraries it loads (cuBLAS, NVRTC, cuRAND, ...) as wheels, so only
# the driver has to be on the machine.  The plain ``gpu`` extra builds the
# generic package against a local CUDA toolkit (see docs/gpu.md).
extras = {
    "gpu": ["cupy>=13"],
    "gpu-cuda12": ["cupy-cuda12x[ctk]>=14"],
    "gpu-cuda13": ["cupy-cuda13x[ctk]>=14"],
    # Compile checks of the CUDA kernels without a GPU (CI's second step):
    # NVRTC from the CUDA 13 wheels, driven by cuda-core; CuPy beside them so
    # that "CuPy installed, no GPU" is tested too.
    "gpu-check": ["cupy-cuda13x>=14", "cuda-toolkit[nvrtc,cudart]==13.*", "cuda-core[cu13]>=0.4"],
    "data": ["mlxtend>=0.23", "scikit-learn>=1.3", "Pillow>=10"],
    "viz": ["matplotlib>=3.7", "Pillow>=10"],
    "test": ["pytest>=7.4", "hypothesis>=6.90"],
}
# the test suite exercises the datasets and the plots too, so CI installs them
extras["test"] = sorted(set(extras["test"] + extras["data"] + extras["viz"]))
extras["all"] = sorted(
    {req for name, reqs in extras.items() if not name.startswith("gpu") for req in reqs}
)

setup(
    name="minicnn",
    version=_version,
    description="A from-scratch, readable and fast deep-learning framework for CNNs "
    "(NumPy/Numba on the CPU, CuPy on the GPU).",
    long_description=(_here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["minicnn", "minicnn.*"])
    + ["minicnn.kernels"]
    + ["minicnn.kernels." + sub for sub in find_packages("kernels")],
    package_dir={"minicnn.kernels": "kernels"},
    install_requires=[
        # numba 0.61-0.68 support NumPy 2.0-2.4; these resolve together on 3.11.
        "numpy>=1.26,<2.5",
        "numba>=0.60",
        "tqdm>=4.60",
        "threadpoolctl>=3.1",
    ],
    extras_require=extras,
    entry_points={"console_scripts": ["minicnn = minicnn.cli:main"]},
)
