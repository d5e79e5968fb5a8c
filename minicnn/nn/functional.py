"""``minicnn.nn.functional`` (``F``): the differentiable ops that layers are made of.

Every function here is defined in ``minicnn.ops`` (one file per op family, the
``Function`` with its forward and backward right above the public function);
this module only gathers them under PyTorch's names.
"""
from ..ops.activation import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.dropout import *  # noqa: F401,F403
from ..ops.linear import *  # noqa: F401,F403
from ..ops.loss import *  # noqa: F401,F403
from ..ops.normalization import *  # noqa: F401,F403
from ..ops.pooling import *  # noqa: F401,F403
from ..ops.resize import *  # noqa: F401,F403
from ..ops.elementwise import relu  # noqa: F401
