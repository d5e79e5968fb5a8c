"""Fused optimizer updates in CUDA: one kernel per parameter instead of a chain of small ones.

The reference update of SGD with momentum is four array operations per
parameter (``buf *= mu``, ``buf += (1 - tau) g``, ``lr * buf``, ``p -= ...``),
Adam's about ten; each is a kernel launch and a trip through memory.  A
ResNet-20 has 65 parameter arrays, so one optimizer step is hundreds of tiny
launches.  Here each element is read once, updated in registers and written
once, with the same formulas (``minicnn/optim/sgd.py``, ``adam.py``) in the
same order of operations.  The hyper-parameters arrive as ``double`` and are
rounded to ``T`` as the reference's Python floats are.

The kernels allocate nothing: a step that starts cannot run out of memory
halfway through the parameters.
"""
from __future__ import annotations

from ..backend import get_array_module
from .cuda_module import CudaModule, require_int32
from .lazy import NotApplicable

SOURCE = r"""
template <typename T>
__global__ void sgd_update(T* param, const T* grad, T* buf, int total, double lr, double momentum,
                           double dampening, int nesterov, int first) {
    GRID_STRIDE_LOOP(i, total) {
        T d = grad[i];
        if (momentum != 0) {
            // b_1 = grad;  b_t = mu b_{t-1} + (1 - tau) grad
            const T b = first ? d : T(momentum) * buf[i] + T(1 - dampening) * d;
            buf[i] = b;
            d = nesterov ? d + T(momentum) * b : b;
        }
        param[i] -= T(lr) * d;
    }
}

template <typename T>
__global__ void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int total,
                            double lr, double beta1, double beta2, double eps, int step, int amsgrad) {
    // bias corrections 1 - beta1^t and sqrt(1 - beta2^t), in double as the reference's Python floats
    const double bias1 = 1 - pow(beta1, double(step)), bias2_sqrt = sqrt(1 - pow(beta2, double(step)));
    GRID_STRIDE_LOOP(i, total) {
        const T g = grad[i];
        const T m = T(beta1) * exp_avg[i] + T(1 - beta1) * g;      // m_t
        T v = T(beta2) * exp_avg_sq[i] + T(1 - beta2) * g * g;      // v_t
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        if (amsgrad) {                                              // v^_t = max(v^_{t-1}, v_t)
            const T seen = max_exp_avg_sq[i];
            v = (v > seen || isnan(v)) ? v : seen;
            max_exp_avg_sq[i] = v;
        }
        const T denom = sqrt(v) / T(bias2_sqrt) + T(eps);
        param[i] -= T(lr / bias1) * m / denom;
    }
}
"""

OPTIMIZERS = CudaModule("optimizers", SOURCE, {
    "sgd_update": ("T* param", "const T* grad", "T* buf", "int total", "double lr", "double momentum",
                   "double dampening", "int nesterov", "int first"),
    "adam_update": ("T* param", "const T* grad", "T* exp_avg", "T* exp_avg_sq", "T* max_exp_avg_sq", "int total",
                    "double lr", "double beta1", "double beta2", "double eps", "int step", "int amsgrad"),
})


def _contiguous(*arrays):
    """The kernels update in place, so every array must already be C-contiguous (never a copy)."""
    for a in arrays:
        if a is not None and not a.flags.c_contiguous:
            raise NotApplicable("the fused update needs C-contiguous arrays")


def sgd_update(param, grad, buf, lr, momentum, dampening, nesterov, first):
    """One SGD step on one parameter array, in place (signature of ``optim.sgd.sgd_update``)."""
    xp = get_array_module(param)
    grad = xp.ascontiguousarray(grad, dtype=param.dtype)
    _contiguous(param, buf)
    require_int32(param.size)
    OPTIMIZERS.launch("sgd_update", param.dtype, param.size, (
        param, grad, param if buf is None else buf, param.size, lr, momentum, dampening, int(nesterov), int(first),
    ))


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, step):
    """One Adam step on one parameter array, in place (signature of ``optim.adam.adam_update``)."""
    xp = get_array_module(param)
    grad = xp.ascontiguousarray(grad, dtype=param.dtype)
    _contiguous(param, exp_avg, exp_avg_sq, max_exp_avg_sq)
    require_int32(param.size)
    amsgrad = max_exp_avg_sq is not None
    OPTIMIZERS.launch("adam_update", param.dtype, param.size, (
        param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad else exp_avg_sq, param.size,
        lr, beta1, beta2, eps, step, int(amsgrad),
    ))

