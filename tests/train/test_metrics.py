"""Metrics: exact values on hand-computed examples, and scikit-learn where it is installed."""
import numpy as np
import pytest

import minicnn as mc
from minicnn.train import metrics

# 3 classes, 8 examples; by hand:
#   truth 0 0 0 1 1 2 2 2
#   pred  0 1 0 1 2 2 2 0
# confusion (rows truth, cols pred): [[2,1,0],[0,1,1],[1,0,2]]
TRUTH = np.array([0, 0, 0, 1, 1, 2, 2, 2])
PRED = np.array([0, 1, 0, 1, 2, 2, 2, 0])


def test_confusion_matrix_by_hand():
    m = metrics.confusion_matrix(TRUTH, PRED)
    np.testing.assert_array_equal(m, [[2, 1, 0], [0, 1, 1], [1, 0, 2]])
    assert m.sum() == len(TRUTH)


def test_precision_recall_f1_by_hand():
    p, r, f = metrics.precision_recall_f1(TRUTH, PRED)
    # precision = diag / column sums = 2/3, 1/2, 2/3; recall = diag / row sums = 2/3, 1/2, 2/3
    np.testing.assert_allclose(p, [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(r, [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(f, [2 / 3, 1 / 2, 2 / 3])
    macro = metrics.precision_recall_f1(TRUTH, PRED, average="macro")
    np.testing.assert_allclose(macro, [(2 / 3 + 1 / 2 + 2 / 3) / 3] * 3)


def test_asymmetric_precision_and_recall():
    truth, pred = np.array([0, 0, 0, 0, 1]), np.array([0, 1, 1, 1, 1])
    # class 1: TP 1, FP 3 -> precision 1/4, recall 1; F1 = 2 * 1/4 * 1 / (5/4) = 2/5
    p, r, f = metrics.precision_recall_f1(truth, pred)
    np.testing.assert_allclose(p, [1.0, 0.25])
    np.testing.assert_allclose(r, [0.25, 1.0])
    np.testing.assert_allclose(f, [0.4, 0.4])


def test_never_predicted_class_has_zero_precision():
    p, r, f = metrics.precision_recall_f1(np.array([0, 1, 2]), np.array([0, 0, 0]), num_classes=4)
    np.testing.assert_allclose(p, [1 / 3, 0, 0, 0])
    np.testing.assert_allclose(r, [1, 0, 0, 0])
    assert not np.isnan(f).any()


def test_accuracy_from_scores_labels_and_tensors():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    target = np.array([1, 0, 0, 0])
    assert metrics.accuracy(scores, target) == 0.75
    assert metrics.accuracy(scores.argmax(1), target) == 0.75
    assert metrics.accuracy(mc.tensor(scores), mc.tensor(target)) == 0.75
    assert metrics.accuracy(np.zeros((0, 2)), np.zeros(0, dtype=np.int64)) == 0.0


def test_top_k_accuracy_by_hand():
    scores = np.array([[0.1, 0.5, 0.3, 0.1],    # target 2: rank 2
                       [0.7, 0.1, 0.1, 0.1],    # target 3: tied with 1 and 2, after them by index -> rank 4
                       [0.1, 0.2, 0.3, 0.4]])   # target 3: rank 1
    target = np.array([2, 3, 3])
    assert metrics.top_k_accuracy(scores, target, k=1) == pytest.approx(1 / 3)
    assert metrics.top_k_accuracy(scores, target, k=2) == pytest.approx(2 / 3)
    assert metrics.top_k_accuracy(scores, target, k=3) == pytest.approx(2 / 3)
    assert metrics.top_k_accuracy(scores, target, k=4) == 1.0
    assert metrics.top_k_accuracy(scores, target, k=10) == 1.0


def test_psnr():
    a = np.zeros((2, 1, 4, 4))
    b = a + 0.1  # MSE 0.01 -> 20 dB
    assert metrics.psnr(b, a) == pytest.approx(20.0)
    assert metrics.psnr(a, a) == float("inf")


def test_report_and_matrix_text():
    report = metrics.classification_report(TRUTH, PRED, ["a", "b", "c"])
    assert "macro avg" in report and "0.6667" in report and "accuracy" in report
    text = metrics.format_confusion_matrix(metrics.confusion_matrix(TRUTH, PRED), ["a", "b", "c"])
    assert text.splitlines()[1].split() == ["a", "2", "1", "0"]


def test_bad_shapes_are_reported():
    with pytest.raises(ValueError, match="target must have shape"):
        metrics.accuracy(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        metrics.top_k_accuracy(np.zeros(3), np.zeros(3))


def test_against_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, 300)
    scores = rng.standard_normal((300, 5)) + np.eye(5)[truth]
    pred = scores.argmax(1)
    np.testing.assert_array_equal(metrics.confusion_matrix(truth, pred, 5), skm.confusion_matrix(truth, pred))
    assert metrics.accuracy(scores, truth) == pytest.approx(skm.accuracy_score(truth, pred))
    assert metrics.top_k_accuracy(scores, truth, k=2) == pytest.approx(skm.top_k_accuracy_score(truth, scores, k=2))
    p, r, f, _ = skm.precision_recall_fscore_support(truth, pred, zero_division=0)
    mp, mr, mf = metrics.precision_recall_f1(truth, pred)
    np.testing.assert_allclose(mp, p)
    np.testing.assert_allclose(mr, r)
    np.testing.assert_allclose(mf, f)
    assert metrics.f1_score(truth, pred, average="macro") == pytest.approx(skm.f1_score(truth, pred, average="macro"))
