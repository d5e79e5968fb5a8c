"""The autograd core: ``Tensor``, ``Function``, the backward engine, ``no_grad``, ``gradcheck``."""
from .function import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor
from .gradcheck import GradcheckError, GradcheckResult, gradcheck, gradcheck_result
