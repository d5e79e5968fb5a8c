"""Datasets and the DataLoader: coverage, order, seeds, collate, prefetch."""
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import data


class ListDataset(data.Dataset):
    """Per-sample dataset (no __getitems__): sample i is (array filled with i, i)."""

    def __init__(self, n, shape=(2, 3)):
        self.n, self.shape = n, shape

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.full(self.shape, i, dtype=np.float64), int(i)


def epoch_labels(loader):
    return [y.numpy().tolist() for _, y in loader]


def labelled(n):
    x = np.arange(n, dtype=np.float32).reshape(n, 1) * np.ones((1, 4), np.float32)
    return data.TensorDataset(x, np.arange(n))


# ---------------------------------------------------------------- datasets
def test_tensor_dataset_rows_and_getitems():
    x = np.arange(12.0).reshape(6, 2)
    y = np.arange(6)
    ds = data.TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, x[4])
    assert yi == 4
    batch = ds.__getitems__(np.array([5, 0, 3]))
    assert isinstance(batch, data.StackedBatch)
    np.testing.assert_array_equal(batch[0], x[[5, 0, 3]])
    with pytest.raises(IndexError, match="out of range"):
        ds[6]


def test_tensor_dataset_keeps_tensors_and_checks_lengths():
    t = mc.tensor(np.ones((3, 2)), dtype=mc.float64)
    ds = data.TensorDataset(t, mc.tensor([1, 2, 3]))
    a, b = ds[1]
    assert isinstance(a, mc.Tensor) and a.dtype == mc.float64 and int(b) == 2
    with pytest.raises(ValueError, match=r"\(3, 2\), \(4,\)"):
        data.TensorDataset(np.ones((3, 2)), np.ones(4))


def test_subset_and_concat():
    ds = labelled(10)
    sub = data.Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 7
    np.testing.assert_array_equal(sub.__getitems__([2, 0])[1], [5, 7])
    both = data.ConcatDataset([sub, ListDataset(2)])
    assert len(both) == 5 and both[3][1] == 0 and both[-1][1] == 1


@pytest.mark.parametrize("lengths", [[6, 3, 1], [0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])
def test_random_split_partitions_the_dataset(lengths):
    ds = labelled(10)
    parts = data.random_split(ds, lengths, seed=1)
    indices = np.concatenate([p.indices for p in parts])
    assert sorted(indices.tolist()) == list(range(10))
    assert sum(len(p) for p in parts) == 10
    if lengths == [0.34, 0.33, 0.33]:
        assert [len(p) for p in parts] == [4, 3, 3]  # floor 3,3,3 then the remainder to the first
    again = data.random_split(ds, lengths, seed=1)
    assert all((p.indices == q.indices).all() for p, q in zip(parts, again))


def test_random_split_follows_manual_seed_and_rejects_bad_lengths():
    ds = labelled(20)
    mc.manual_seed(5)
    a = data.random_split(ds, [10, 10])[0].indices
    mc.manual_seed(5)
    b = data.random_split(ds, [10, 10])[0].indices
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="sum to 19"):
        data.random_split(ds, [10, 9])


# ------------------------------------------------------------------ collate
def test_default_collate_dtypes_and_structure():
    samples = [(np.ones((1, 2, 2), np.float64), 3), (np.zeros((1, 2, 2), np.float64), 7)]
    x, y = data.default_collate(samples)
    assert isinstance(x, mc.Tensor) and x.shape == (2, 1, 2, 2) and x.dtype == mc.float32
    assert y.dtype == mc.int64 and y.numpy().tolist() == [3, 7]
    out = data.default_collate([{"a": 1.5, "b": (np.uint8(2), "s")}, {"a": 2.5, "b": (np.uint8(4), "t")}])
    assert out["a"].dtype == mc.float32 and out["b"][0].dtype == mc.int64 and out["b"][1] == ["s", "t"]
    u8 = data.default_collate([np.ones((2, 2), np.uint8)] * 3)
    assert u8.dtype == mc.uint8 and u8.shape == (3, 2, 2)


def test_collate_reports_mismatched_shapes():
    with pytest.raises(ValueError, match=r"different shapes.*\(1, 2\).*\(1, 3\)"):
        data.default_collate([np.ones((1, 2)), np.ones((1, 3))])
    with pytest.raises(TypeError, match="object"):
        data.default_collate([object(), object()])


# ------------------------------------------------------------------- loader
@given(
    n=st.integers(1, 60),
    batch_size=st.integers(1, 17),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    fast=st.booleans(),
)
def test_each_sample_exactly_once_per_epoch(n, batch_size, shuffle, drop_last, fast):
    ds = labelled(n) if fast else ListDataset(n)
    loader = data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=3)
    batches = epoch_labels(loader)
    assert len(batches) == len(loader)
    seen = [i for b in batches for i in b]
    assert all(len(b) == batch_size for b in batches[:-1])
    if drop_last:
        assert len(seen) == n - n % batch_size and all(len(b) == batch_size for b in batches)
        assert len(set(seen)) == len(seen)
    else:
        assert sorted(seen) == list(range(n))
    if not shuffle:
        assert seen == list(range(len(seen)))


def test_inputs_match_labels_on_both_paths():
    for ds in (labelled(23), ListDataset(23, shape=(4,))):
        for x, y in data.DataLoader(ds, batch_size=5, shuffle=True, seed=0):
            assert x.dtype == mc.float32 and y.dtype == mc.int64
            np.testing.assert_array_equal(x.numpy()[:, 0], y.numpy())


def test_fast_path_is_one_getitems_call_per_batch():
    ds = labelled(50)
    calls = []
    original = ds.__getitems__
    ds.__getitems__ = lambda idx: calls.append(len(idx)) or original(idx)
    ds.__getitem__ = None
    list(data.DataLoader(ds, batch_size=16))
    assert calls == [16, 16, 16, 2]


def test_shuffle_order_is_seeded_and_changes_per_epoch():
    ds = labelled(40)
    a = data.DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    b = data.DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    e0, e1 = epoch_labels(a), epoch_labels(a)
    assert e0 == epoch_labels(b) and e1 == epoch_labels(b)
    assert e0 != e1
    assert epoch_labels(data.DataLoader(ds, batch_size=8, shuffle=True, seed=12)) != e0
    assert [i for b in e0 for i in b] != list(range(40))


def test_set_epoch_resumes_the_same_batches():
    ds = labelled(30)
    run = data.DataLoader(ds, batch_size=7, shuffle=True, seed=2)
    epochs = [epoch_labels(run) for _ in range(3)]
    resumed = data.DataLoader(ds, batch_size=7, shuffle=True, seed=2)
    resumed.set_epoch(2)
    assert resumed.epoch == 2
    assert epoch_labels(resumed) == epochs[2]
    resumed.set_epoch(0)
    assert epoch_labels(resumed) == epochs[0]


def test_unseeded_loader_follows_manual_seed():
    ds = labelled(30)
    mc.manual_seed(4)
    a = epoch_labels(data.DataLoader(ds, batch_size=30, shuffle=True))
    mc.manual_seed(4)
    b = epoch_labels(data.DataLoader(ds, batch_size=30, shuffle=True))
    assert a == b


@pytest.mark.parametrize("workers", [dict(prefetch=True), dict(prefetch=3), dict(num_workers=2)])
def test_prefetch_gives_the_same_batches(workers):
    from minicnn.data import transforms as T

    ds = data.ImageArrayDataset(  # a random per-sample transform
        np.random.default_rng(0).integers(0, 256, (45, 6, 6), dtype=np.uint8), np.arange(45),
        transform=T.RandomAffine(20, translate=(0.2, 0.2)),
    )
    batch_aug = T.batch.RandomCrop(6, padding=2)
    plain = data.DataLoader(ds, batch_size=4, shuffle=True, seed=9, batch_transform=batch_aug)
    fast = data.DataLoader(ds, batch_size=4, shuffle=True, seed=9, batch_transform=batch_aug, **workers)
    for _ in range(2):
        for (xa, ya), (xb, yb) in zip(plain, fast, strict=True):
            np.testing.assert_array_equal(xa.numpy(), xb.numpy())
            np.testing.assert_array_equal(ya.numpy(), yb.numpy())


class Exploding(ListDataset):
    def __getitem__(self, i):
        if i == 13:
            raise KeyError("sample 13 is broken")
        return super().__getitem__(i)


@pytest.mark.parametrize("workers", [dict(), dict(prefetch=2), dict(num_workers=3)])
def test_worker_errors_are_reraised_and_threads_stop(workers):
    before = threading.active_count()
    loader = data.DataLoader(Exploding(40), batch_size=4, **workers)
    got = []
    with pytest.raises(KeyError, match="sample 13 is broken"):
        for _, y in loader:
            got.append(y.numpy().tolist())
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert threading.active_count() == before


def test_breaking_out_early_shuts_the_prefetch_thread_down():
    before = threading.active_count()
    it = iter(data.DataLoader(labelled(100), batch_size=2, prefetch=4))
    next(it)
    it.close()
    assert threading.active_count() == before


def test_loader_arguments_and_len():
    ds = labelled(10)
    loader = data.DataLoader(ds, batch_size=4, num_workers=0, pin_memory=True, persistent_workers=False,
                             worker_init_fn=None, prefetch_factor=2, timeout=0)
    assert len(loader) == 3 and loader.dataset is ds
    assert len(data.DataLoader(ds, batch_size=4, drop_last=True)) == 2
    with pytest.raises(ValueError, match="batch_size"):
        data.DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="exclusive"):
        data.DataLoader(ds, sampler=data.SequentialSampler(ds), shuffle=True)


def test_worker_init_fn_runs_once_per_thread():
    ids = []
    list(data.DataLoader(labelled(40), batch_size=2, num_workers=2, worker_init_fn=ids.append))
    assert sorted(ids) == [0, 1]


def test_samplers():
    ds = labelled(10)
    rs = data.RandomSampler(ds, seed=1)
    loader = data.DataLoader(ds, batch_size=3, sampler=rs)
    seen = [i for b in epoch_labels(loader) for i in b]
    assert sorted(seen) == list(range(10))
    bs = data.BatchSampler(data.SequentialSampler(ds), 4, drop_last=False)
    loader = data.DataLoader(ds, batch_sampler=bs)
    assert epoch_labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and len(loader) == 3


def test_custom_collate_and_device(device):
    ds = labelled(6)
    loader = data.DataLoader(ds, batch_size=4, device=device)
    x, y = next(iter(loader))
    assert x.device == device and y.device == device
    custom = data.DataLoader(ds, batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(custom) == [4, 2]


def test_batch_transform_sees_numpy_inputs_before_tensors():
    seen = []

    def negate(x):
        seen.append((type(x), x.shape, x.dtype))
        return -x

    x, y = next(iter(data.DataLoader(labelled(5), batch_size=5, batch_transform=negate)))
    assert seen == [(np.ndarray, (5, 4), np.float32)]
    np.testing.assert_array_equal(x.numpy()[:, 0], -np.arange(5))
    np.testing.assert_array_equal(y.numpy(), np.arange(5))
