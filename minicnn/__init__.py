"""minicnn: a from-scratch deep-learning framework for convolutional networks.

    import minicnn as mc
    x = mc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x

Arrays live in NumPy (``cpu``) or CuPy (``cuda``); every op is a ``Function``
with a readable forward and backward (``minicnn.ops``).
"""
__version__ = "0.1.0"

from . import backend, cuda
from .backend import (
    Device,
    DeviceError,
    OutOfMemoryError,
    bool_,
    float16,
    float32,
    float64,
    get_default_dtype,
    get_rng_state,
    initial_seed,
    int8,
    int16,
    int32,
    int64,
    manual_seed,
    set_default_dtype,
    set_rng_state,
    uint8,
)
from .backend import Device as device
from .autograd import (
    Function,
    GradcheckError,
    Tensor,
    enable_grad,
    gradcheck,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .factories import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .ops import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    clip,
    exp,
    expand,
    flatten,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    permute,
    relu,
    reshape,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    transpose,
    unsqueeze,
    var,
    where,
)

float = float32
double = float64
long = int64
bool = bool_

from . import data, nn, optim  # noqa: E402
from .nn.summary import summary  # noqa: E402
from .serialization import save, load  # noqa: E402
