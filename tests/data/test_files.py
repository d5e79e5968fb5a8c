"""Standard dataset files: IDX, CIFAR-10 binary, ImageFolder, and downloads from a local server."""
import contextlib
import functools
import gzip
import hashlib
import http.server
import io
import os
import struct
import tarfile
import threading

import numpy as np
import pytest

from minicnn import data
from minicnn.data import datasets as dsmod

RNG = np.random.default_rng(0)


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes()


def write_mnist(folder, n_train=12, n_test=5, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = RNG.integers(0, 10, n, dtype=np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte"
            raw = idx_bytes(arr)
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
            else:
                (folder / name).write_bytes(raw)
        arrays[prefix] = (images, labels)
    return arrays


def cifar_records(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    planes = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    raw = np.concatenate([labels[:, None], planes.reshape(n, -1)], axis=1).tobytes()
    return raw, planes.transpose(0, 2, 3, 1), labels


def cifar_tar(n_per_file=3):
    buffer = io.BytesIO()
    expected = {}
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        for k, name in enumerate(names):
            raw, images, labels = cifar_records(n_per_file, k)
            expected[name] = (images, labels)
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue(), expected


# ----------------------------------------------------------------------- IDX
def test_read_idx_roundtrip_gz_and_plain(tmp_path):
    arr = RNG.integers(0, 256, (4, 5, 6), dtype=np.uint8)
    (tmp_path / "a").write_bytes(idx_bytes(arr))
    (tmp_path / "b.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a"), arr)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "b.gz", ndim=3), arr)
    big_endian = bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 3) + np.array([1, -2, 70000], ">i4").tobytes()
    (tmp_path / "c").write_bytes(big_endian)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "c"), [1, -2, 70000])


@pytest.mark.parametrize(
    "mutilate,message",
    [
        (lambda b: b[:-10], "truncated"),
        (lambda b: b + b"\0", "trailing bytes"),
        (lambda b: b"\x12\x34" + b[2:], "bad magic number"),
        (lambda b: b[:6], "truncated inside the header"),
        (lambda b: b"", "too short"),
    ],
)
def test_read_idx_rejects_bad_files_naming_them(tmp_path, mutilate, message):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(mutilate(idx_bytes(np.zeros((3, 4, 4)))))
    with pytest.raises(data.DatasetFileError, match=message) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_truncated_gzip_and_wrong_ndim(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((30, 4, 4))))[:-20])
    with pytest.raises(data.DatasetFileError, match="gzip") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)
    path.write_bytes(idx_bytes(np.zeros(5)))
    with pytest.raises(data.DatasetFileError, match="3-dimensional"):
        data.read_idx(path, ndim=3)


@pytest.mark.parametrize("cls", [data.MNIST, data.FashionMNIST])
@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_files(tmp_path, cls, gz):
    arrays = write_mnist(tmp_path / cls.__name__ / "raw", gz=gz)
    train, test = cls(tmp_path), cls(tmp_path, train=False)
    assert (len(train), len(test)) == (12, 5)
    x, y = test[2]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], arrays["t10k"][0][2] / 255.0, rtol=1e-6)
    assert y == arrays["t10k"][1][2]
    np.testing.assert_array_equal(train.targets, arrays["train"][1])


def test_mnist_missing_files_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        data.MNIST(tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message
    assert "download=True" in message and str(tmp_path) in message


def test_mnist_label_count_mismatch_is_reported(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    write_mnist(folder)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(11))))
    with pytest.raises(data.DatasetFileError, match="12 images but .* 11 labels"):
        data.MNIST(tmp_path)


# --------------------------------------------------------------------- CIFAR
def test_read_cifar_binary(tmp_path):
    raw, images, labels = cifar_records(4, 0)
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(raw)
    got_images, got_labels = data.read_cifar_binary(path)
    np.testing.assert_array_equal(got_images, images)  # HWC: the R, G, B planes interleaved
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.shape == (4, 32, 32, 3)
    path.write_bytes(raw[:-1])
    with pytest.raises(data.DatasetFileError, match="3073-byte") as info:
        data.read_cifar_binary(path)
    assert str(path) in str(info.value)
    path.write_bytes(raw)
    with pytest.raises(data.DatasetFileError, match="holds 4 records, expected 10000"):
        data.read_cifar_binary(path, expected_records=10000)
    path.write_bytes(b"\x0b" + raw[1:])
    with pytest.raises(data.DatasetFileError, match="label byte 11"):
        data.read_cifar_binary(path)


def test_cifar10_from_archive_and_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(data.CIFAR10, "records_per_file", 3)
    archive, expected = cifar_tar(3)
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(archive)
    train = data.CIFAR10(tmp_path)
    test = data.CIFAR10(tmp_path, train=False, raw=True)
    assert (len(train), len(test)) == (15, 3)
    assert (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").is_file()
    img, label = test[1]
    np.testing.assert_array_equal(img, expected["test_batch.bin"][0][1])
    assert label == expected["test_batch.bin"][1][1]
    x, _ = train[4]  # record 1 of data_batch_2
    np.testing.assert_allclose(x, expected["data_batch_2.bin"][0][1].transpose(2, 0, 1) / 255.0, rtol=1e-6)
    # a truncated batch file among the extracted ones is caught, naming it
    bad = tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin"
    bad.write_bytes(bad.read_bytes()[: 2 * 3073])
    with pytest.raises(data.DatasetFileError, match="data_batch_3.bin: holds 2 records, expected 3"):
        data.CIFAR10(tmp_path)


def test_cifar10_missing_files_message(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data_batch_1\.bin.*cifar-10-binary\.tar\.gz.*download=True"):
        data.CIFAR10(tmp_path)


# ------------------------------------------------------------------ download
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder):
    """An HTTP server on 127.0.0.1 serving ``folder``, stopped on exit."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def md5(blob):
    return hashlib.md5(blob).hexdigest()


def test_mnist_download_from_a_local_server(tmp_path, monkeypatch):
    served = tmp_path / "server"
    arrays = write_mnist(served)
    files = {p.name: md5(p.read_bytes()) for p in served.iterdir()}
    root = tmp_path / "root"
    with serve(served) as url:
        monkeypatch.setitem(dsmod.RESOURCES, "MNIST", {"mirrors": [url + "missing/", url], "files": files})
        train = data.MNIST(root, download=True)
    np.testing.assert_array_equal(train.targets, arrays["train"][1])
    assert sorted(os.listdir(root / "MNIST" / "raw")) == sorted(files)  # no temporary files left


def test_corrupted_download_is_rejected_and_leaves_nothing(tmp_path):
    served = tmp_path / "server"
    write_mnist(served)
    good = {p.name: md5(p.read_bytes()) for p in served.iterdir()}
    target = served / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-3] + b"xyz")  # corrupted on the server
    root = tmp_path / "root"
    with serve(served) as url:
        with pytest.raises(RuntimeError, match="checksum mismatch") as info:
            data.FashionMNIST(root, download=True, resources={"mirrors": [url], "files": good})
    assert url + "t10k-labels-idx1-ubyte.gz" in str(info.value)
    folder = root / "FashionMNIST" / "raw"
    assert "t10k-labels-idx1-ubyte.gz" not in os.listdir(folder)
    assert not [f for f in os.listdir(folder) if f.endswith(".part")]


def test_cifar10_download_from_a_local_server(tmp_path, monkeypatch):
    monkeypatch.setattr(data.CIFAR10, "records_per_file", 3)
    served = tmp_path / "server"
    served.mkdir()
    archive, expected = cifar_tar(3)
    (served / "cifar-10-binary.tar.gz").write_bytes(archive)
    root = tmp_path / "root"
    with serve(served) as url:
        resources = {"mirrors": [url], "files": {"cifar-10-binary.tar.gz": "sha256:" + hashlib.sha256(archive).hexdigest()}}
        test = data.CIFAR10(root, train=False, download=True, resources=resources)
    np.testing.assert_array_equal(test.targets, expected["test_batch.bin"][1])


def test_offline_download_names_the_url(tmp_path):
    with serve(tmp_path) as url:
        pass  # the server is stopped: its port refuses connections
    with pytest.raises(RuntimeError, match="offline") as info:
        data.download_file([url + "a.gz"], tmp_path / "out" / "a.gz", checksum="0" * 32, timeout=2)
    assert url + "a.gz" in str(info.value)
    assert not (tmp_path / "out" / "a.gz").exists()


# --------------------------------------------------------------- ImageFolder
def test_image_folder_with_mixed_modes(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rgb = RNG.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    (tmp_path / "cat").mkdir()
    (tmp_path / "dog" / "nested").mkdir(parents=True)
    Image.fromarray(rgb).save(tmp_path / "cat" / "a.png")
    Image.fromarray(rgb[:, :, 0]).save(tmp_path / "cat" / "b_grey.png")  # mode L
    Image.fromarray(np.dstack([rgb, np.full((5, 6), 128, np.uint8)])).save(tmp_path / "dog" / "c_rgba.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "dog" / "nested" / "d_palette.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = data.ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.targets == [0, 0, 1, 1] and len(ds) == 4
    for i in range(4):
        img, _ = ds[i]
        assert img.dtype == np.uint8 and img.shape == (5, 6, 3)
    np.testing.assert_array_equal(ds[0][0], rgb)
    np.testing.assert_array_equal(ds[1][0], np.repeat(rgb[:, :, :1], 3, axis=2))  # L -> RGB
    np.testing.assert_array_equal(ds[2][0], rgb)  # alpha dropped
    grey = data.ImageFolder(tmp_path, mode="L")
    assert grey[0][0].shape == (5, 6, 1)
    from minicnn.data import transforms as T

    loader = data.DataLoader(data.ImageFolder(tmp_path, transform=T.ToTensor()), batch_size=4)
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 5, 6) and y.numpy().tolist() == [0, 0, 1, 1]


def test_image_folder_reports_bad_images(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    (tmp_path / "a").mkdir()
    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(tmp_path / "a" / "deep.png")  # 16-bit
    (tmp_path / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    ds = data.ImageFolder(tmp_path)
    with pytest.raises(data.DatasetFileError, match="broken.png"):
        ds[0]
    with pytest.raises(data.DatasetFileError, match=r"deep.png has mode 'I"):
        ds[1]
    with pytest.raises(FileNotFoundError, match="no class sub-folders"):
        data.ImageFolder(tmp_path / "a")
