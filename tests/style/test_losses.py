"""gram_matrix, content_loss, style_loss, total_variation_loss: NumPy values and float64 gradient checks."""
import numpy as np
import pytest

import minicnn as mc
from minicnn.style import content_loss, gram_matrix, style_loss, total_variation_loss
from tests.helpers import assert_close, make, random_array


def numpy_gram(f):
    """G[n, i, j] = sum over pixels of f[n, i] * f[n, j], divided by C*H*W (written independently)."""
    n, c, h, w = f.shape
    out = np.zeros((n, c, c))
    for b in range(n):
        for i in range(c):
            for j in range(c):
                out[b, i, j] = np.sum(f[b, i] * f[b, j]) / (c * h * w)
    return out


@pytest.mark.parametrize("shape", [(1, 3, 4, 5), (2, 4, 3, 3), (1, 1, 1, 7)])
def test_gram_matrix_matches_numpy(device, shape):
    f = random_array(shape, seed=1)
    g = gram_matrix(make(f, device, requires_grad=False))
    assert g.shape == (shape[0], shape[1], shape[1])
    assert_close(g, numpy_gram(f), rtol=1e-10, atol=1e-12)


def test_gram_matrix_is_symmetric_and_float32_close(device):
    f = random_array((1, 8, 6, 6), seed=2).astype(np.float32)
    g = gram_matrix(mc.tensor(f, device=device)).numpy()
    np.testing.assert_allclose(g, g.transpose(0, 2, 1), rtol=1e-6)
    np.testing.assert_allclose(g, numpy_gram(f.astype(np.float64)), rtol=1e-5, atol=1e-7)


def test_gram_matrix_rejects_non_4d():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        gram_matrix(mc.zeros(3, 4))


def test_content_loss_value(device):
    a, b = random_array((1, 4, 3, 3), seed=3), random_array((1, 4, 3, 3), seed=4)
    got = content_loss(make(a, device, False), make(b, device, False)).item()
    assert got == pytest.approx(np.mean((a - b) ** 2), rel=1e-12)
    with pytest.raises(ValueError, match="differ in shape"):
        content_loss(make(a, device, False), make(b[:, :2], device, False))


def test_style_loss_value_and_layer_weights(device):
    t1, t2 = random_array((1, 3, 4, 4), seed=5), random_array((1, 5, 2, 2), seed=6)
    s1, s2 = numpy_gram(random_array((1, 3, 4, 4), seed=7)), numpy_gram(random_array((1, 5, 2, 2), seed=8))
    feats = {"a": make(t1, device, False), "b": make(t2, device, False)}
    grams = {"a": make(s1, device, False), "b": make(s2, device, False)}
    e_a = np.mean((numpy_gram(t1) - s1) ** 2)
    e_b = np.mean((numpy_gram(t2) - s2) ** 2)
    assert style_loss(feats, grams).item() == pytest.approx((e_a + e_b) / 2, rel=1e-10)
    assert style_loss(feats, grams, {"a": 0.3, "b": 2.0}).item() == pytest.approx(0.3 * e_a + 2.0 * e_b, rel=1e-10)
    assert style_loss(feats, grams, {"b": 1.0}).item() == pytest.approx(e_b, rel=1e-10)
    with pytest.raises(KeyError, match="'?c'?"):
        style_loss(feats, grams, {"c": 1.0})


def test_total_variation_value(device):
    x = random_array((1, 3, 4, 5), seed=9)
    expected = np.mean((x[:, :, 1:] - x[:, :, :-1]) ** 2) + np.mean((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2)
    assert total_variation_loss(make(x, device, False)).item() == pytest.approx(expected, rel=1e-12)
    constant = np.full((1, 3, 4, 4), 0.7)
    assert total_variation_loss(make(constant, device, False)).item() == 0.0
    with pytest.raises(ValueError, match="H>=2"):
        total_variation_loss(make(np.zeros((1, 3, 1, 4)), device, False))


# ---------------------------------------------------------------- gradient checks (float64)
def test_gram_matrix_gradcheck(device):
    w = make(random_array((1, 3, 3), seed=10), device, requires_grad=False)
    assert mc.gradcheck(lambda f: (gram_matrix(f) * w).sum(), [make(random_array((1, 3, 2, 3), seed=11), device)])


def test_content_loss_gradcheck(device):
    p = make(random_array((1, 2, 3, 3), seed=12), device, requires_grad=False)
    assert mc.gradcheck(lambda f: content_loss(f, p), [make(random_array((1, 2, 3, 3), seed=13), device)])


def test_style_loss_gradcheck(device):
    grams = {"a": make(numpy_gram(random_array((1, 3, 3, 3), seed=14)), device, False),
             "b": make(numpy_gram(random_array((1, 2, 2, 2), seed=15)), device, False)}

    def fn(fa, fb):
        return style_loss({"a": fa, "b": fb}, grams, {"a": 0.7, "b": 1.3})

    assert mc.gradcheck(fn, [make(random_array((1, 3, 3, 3), seed=16), device),
                             make(random_array((1, 2, 2, 2), seed=17), device)])


def test_total_variation_gradcheck(device):
    assert mc.gradcheck(total_variation_loss, [make(random_array((1, 3, 4, 3), seed=18), device)])
