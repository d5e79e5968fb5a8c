"""Standard datasets read from their standard files: MNIST, FashionMNIST,
CIFAR10 (binary version), ImageFolder.

Where the bytes come from (``download=True``; the table below, checksums as
published by torchvision for MNIST/FashionMNIST and by the CIFAR page,
https://www.cs.toronto.edu/~kriz/cifar.html, for the CIFAR-10 binary archive):
"""
from __future__ import annotations

import gzip
import os
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ._common import atomic_path, require
from .dataset import Dataset, StackedBatch, _as_index_array, _check_index
from .download import check_integrity, download_file

#: name -> mirrors (tried in order) and files with their published MD5.
#: Tests (or users behind a proxy mirror) may patch this table or pass
#: ``resources=`` to a dataset.
RESOURCES = {
    "MNIST": {
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ],
        "files": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    },
    "FashionMNIST": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "files": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    },
    "CIFAR10": {
        "mirrors": ["https://www.cs.toronto.edu/~kriz/"],
        "files": {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
    },
}

__doc__ += "".join(
    f"\n{name}:\n" + "".join(f"    {m}\n" for m in spec["mirrors"])
    + "".join(f"    {f}  md5 {c}\n" for f, c in spec["files"].items())
    for name, spec in RESOURCES.items()
)


class DatasetFileError(ValueError):
    """A dataset file is truncated, corrupt or not in the expected format (the message names it)."""


# ------------------------------------------------------------ in-memory base
class ImageArrayDataset(Dataset):
    """Images and labels held in arrays.

    ``data``: uint8 ``(N, H, W)`` or ``(N, H, W, C)``; ``targets``: int64 ``(N,)``.
    A sample is ``(image, label)``: by default the image as CHW float32
    ``data[i] / scale`` in [0, 1] (scale 255, or 16 for ``Digits``); with
    ``raw=True`` the stored HWC uint8 array.  ``transform`` is applied to the
    image, ``target_transform`` to the label (an int).  ``__getitems__`` gives
    a whole batch by one fancy index when there are no per-sample transforms.
    """

    scale = 255.0

    def __init__(self, data, targets, transform=None, target_transform=None, raw=False, classes=None):
        data = np.asarray(data)
        targets = np.asarray(targets, dtype=np.int64).reshape(-1)
        if data.dtype != np.uint8 or data.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__}: data must be uint8 (N, H, W[, C]), got {data.dtype} {data.shape}")
        if len(data) != len(targets):
            raise ValueError(f"{type(self).__name__}: {len(data)} images but {len(targets)} labels")
        self.data = data
        self.targets = targets
        self.transform = transform
        self.target_transform = target_transform
        self.raw = raw
        if classes is not None:
            self.classes = list(classes)

    def __len__(self):
        return len(self.data)

    def _images(self, stored):
        """Stored uint8 (..., H, W[, C]) -> the sample layout, for one image or a batch."""
        if self.data.ndim == 3:  # grey: add the channel axis
            stored = stored[..., None]
        if self.raw:
            return stored
        out = np.ascontiguousarray(np.moveaxis(stored, -1, -3), dtype=np.float32)  # HWC -> CHW
        out *= np.float32(1.0 / self.scale)
        return out

    def __getitem__(self, index):
        index = _check_index(index, len(self), type(self).__name__)
        image = self._images(self.data[index])
        target = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __getitems__(self, indices):
        indices = _as_index_array(indices)
        if self.transform is not None or self.target_transform is not None:
            return [self[int(i)] for i in indices]
        images = self._images(self.data[indices])
        return StackedBatch((np.ascontiguousarray(images), self.targets[indices]))

    def __repr__(self):
        split = getattr(self, "split", None)
        extra = f", split={split!r}" if split else ""
        return f"{type(self).__name__}({len(self)} samples{extra}, image shape {self._images(self.data[0]).shape})"


# ---------------------------------------------------------------- IDX format
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_maybe_gzip(path):
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetFileError(f"cannot read {path}: {exc}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetFileError(f"{path}: corrupt or truncated gzip data ({exc})") from exc
    return raw


def read_idx(path, ndim=None):
    """Read an IDX file (LeCun's MNIST format), gzipped or not.

    Layout: two zero bytes, a type byte (0x08 = uint8, ...), the number of
    dimensions d, then d big-endian uint32 sizes, then the values row-major.
    Every part is checked: a wrong magic number, an unexpected ``ndim`` or a
    payload that is shorter or longer than the sizes promise raises
    ``DatasetFileError`` naming the file.
    """
    path = Path(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise DatasetFileError(f"{path}: {len(data)} bytes is too short for an IDX header (truncated file?)")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        magic = int.from_bytes(data[:4], "big")
        raise DatasetFileError(f"{path}: bad magic number 0x{magic:08x}; not an IDX file (expected 0x0000TTDD)")
    dims_count = data[3]
    if ndim is not None and dims_count != ndim:
        raise DatasetFileError(f"{path}: expected a {ndim}-dimensional IDX file, but its header says {dims_count}")
    header = 4 + 4 * dims_count
    if len(data) < header:
        raise DatasetFileError(f"{path}: truncated inside the header ({len(data)} bytes)")
    dims = struct.unpack(">" + "I" * dims_count, data[4:header])
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DatasetFileError(
            f"{path}: {what}: the header promises dims {dims} ({expected} bytes with the header), "
            f"but the file holds {len(data)} bytes"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True) if dtype.byteorder == ">" else array.copy()


def _find(name, folders):
    for folder in folders:
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                return candidate
    return None


class MNIST(ImageArrayDataset):
    """The MNIST digits from the four official IDX files (60,000 train / 10,000 test).

    Files are looked for, gzipped or not, in ``root/MNIST/raw``, ``root/MNIST``
    and ``root``; ``download=True`` fetches the missing ones into
    ``root/MNIST/raw`` (checksums verified).  Samples: CHW float32 (1, 28, 28)
    in [0, 1] and an int label (``raw=True``: HWC uint8 (28, 28, 1)).
    """

    classes = [str(d) for d in range(10)]
    files = {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False, raw=False,
                 resources=None):
        self.root = Path(root).expanduser()
        self.split = "train" if train else "test"
        self.resources = resources or RESOURCES[type(self).__name__]
        name = type(self).__name__
        folders = [self.root / name / "raw", self.root / name, self.root]
        wanted = self.files[self.split]
        paths = [_find(f, folders) for f in wanted]
        if None in paths and download:
            self.download()
            paths = [_find(f, folders) for f in wanted]
        if None in paths:
            missing = [f for f, p in zip(wanted, paths) if p is None]
            raise FileNotFoundError(
                f"{name}: cannot find {', '.join(m + '[.gz]' for m in missing)} in "
                f"{', '.join(str(f) for f in folders)}. Expected the IDX files {', '.join(wanted)} "
                f"(gzipped or not); pass download=True to fetch them from {self.resources['mirrors'][0]}"
            )
        images = read_idx(paths[0], ndim=3)
        labels = read_idx(paths[1], ndim=1)
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise DatasetFileError(f"{name}: expected uint8 IDX data in {paths[0]} and {paths[1]}")
        if len(images) != len(labels):
            raise DatasetFileError(f"{name}: {paths[0]} holds {len(images)} images but {paths[1]} {len(labels)} labels")
        if labels.size and labels.max() >= len(self.classes):
            raise DatasetFileError(f"{name}: {paths[1]} has label {labels.max()}, expected 0..{len(self.classes) - 1}")
        self.paths = paths
        super().__init__(images, labels, transform, target_transform, raw)

    def download(self):
        """Fetch the official gzipped files into root/<Name>/raw (existing verified files are kept)."""
        folder = self.root / type(self).__name__ / "raw"
        folder.mkdir(parents=True, exist_ok=True)
        for filename, checksum in self.resources["files"].items():
            path = folder / filename
            if check_integrity(path, checksum):
                continue
            download_file([m + filename for m in self.resources["mirrors"]], path, checksum)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: same IDX format and layout as MNIST, 10 clothing classes."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


# --------------------------------------------------------------- CIFAR-10 bin
CIFAR_RECORD = 1 + 32 * 32 * 3


def read_cifar_binary(path, expected_records=None):
    """Read one CIFAR-10 binary batch: records of 1 label byte + 3072 pixel bytes.

    The pixels of a record are the red plane, then green, then blue, each
    32 x 32 row-major.  Returns images HWC uint8 (n, 32, 32, 3) and labels int64.
    A size that is not a whole number of records, a record count other than
    ``expected_records`` or a label byte above 9 raises ``DatasetFileError``.
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DatasetFileError(f"cannot read {path}: {exc}") from exc
    if raw.size == 0 or raw.size % CIFAR_RECORD:
        raise DatasetFileError(
            f"{path}: {raw.size} bytes is not a whole number of {CIFAR_RECORD}-byte CIFAR-10 records "
            "(truncated or not the binary version)"
        )
    n = raw.size // CIFAR_RECORD
    if expected_records is not None and n != expected_records:
        raise DatasetFileError(f"{path}: holds {n} records, expected {expected_records} (truncated file?)")
    records = raw.reshape(n, CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DatasetFileError(f"{path}: label byte {labels.max()} > 9; not a CIFAR-10 binary batch")
    images = np.ascontiguousarray(records[:, 1:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels


class CIFAR10(ImageArrayDataset):
    """CIFAR-10 from the *binary* version (never the pickled Python one).

    Files: ``root/cifar-10-batches-bin/data_batch_{1..5}.bin`` (train, 50,000)
    and ``test_batch.bin`` (10,000), or ``root/cifar-10-binary.tar.gz``, from
    which only those files are extracted (by name: no path from the archive is
    trusted).  ``download=True`` fetches the archive (MD5 verified).  Samples:
    CHW float32 (3, 32, 32) in [0, 1] and an int label (``raw=True``: HWC uint8).
    """

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    folder = "cifar-10-batches-bin"
    archive = "cifar-10-binary.tar.gz"
    train_files = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_files = ["test_batch.bin"]
    #: records in each official file; a file with another count is rejected as truncated
    records_per_file = 10_000

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False, raw=False,
                 resources=None):
        self.root = Path(root).expanduser()
        self.split = "train" if train else "test"
        self.resources = resources or RESOURCES["CIFAR10"]
        wanted = self.train_files if train else self.test_files
        folder = self._folder(wanted)
        if folder is None and (self.root / self.archive).is_file():
            self._extract()
            folder = self._folder(wanted)
        if folder is None and download:
            self.download()
            folder = self._folder(wanted)
        if folder is None:
            raise FileNotFoundError(
                f"CIFAR10: cannot find {', '.join(wanted)} in {self.root / self.folder} or {self.root}, nor "
                f"{self.root / self.archive}. Expected the binary version (cifar-10-binary.tar.gz); pass "
                f"download=True to fetch it from {self.resources['mirrors'][0]}"
            )
        parts = [read_cifar_binary(folder / f, self.records_per_file) for f in wanted]
        self.paths = [folder / f for f in wanted]
        super().__init__(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                         transform, target_transform, raw)

    def _folder(self, wanted):
        for folder in (self.root / self.folder, self.root):
            if all((folder / f).is_file() for f in wanted):
                return folder
        return None

    def _extract(self):
        """Copy the batch files out of the archive into root/cifar-10-batches-bin, atomically each."""
        path = self.root / self.archive
        names = set(self.train_files + self.test_files + ["batches.meta.txt"])
        found = set()
        try:
            with tarfile.open(path, "r:gz") as tar:
                for member in tar:
                    base = os.path.basename(member.name)
                    if member.isfile() and base in names:
                        source = tar.extractfile(member)
                        with atomic_path(self.root / self.folder / base) as tmp, open(tmp, "wb") as out:
                            while block := source.read(1 << 20):
                                out.write(block)
                        found.add(base)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise DatasetFileError(f"{path}: cannot read the archive ({exc}); delete it and download again") from exc
        missing = sorted(names - found - {"batches.meta.txt"})
        if missing:
            raise DatasetFileError(f"{path}: the archive lacks {', '.join(missing)}; is it the CIFAR-10 binary version?")

    def download(self):
        """Fetch cifar-10-binary.tar.gz (MD5 verified) and extract the batch files."""
        filename, checksum = next(iter(self.resources["files"].items()))
        path = self.root / self.archive
        if not check_integrity(path, checksum):
            download_file([m + filename for m in self.resources["mirrors"]], path, checksum)
        self._extract()


# ---------------------------------------------------------------- ImageFolder
IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageFolder(Dataset):
    """Images in one folder per class: ``root/<class>/<file>``.

    Classes are the sub-folder names in sorted order (``classes``,
    ``class_to_idx``); ``samples`` lists (path, class index) sorted by path.
    Each image is read with Pillow and converted to ``mode`` ("RGB", default,
    or "L" for grey): palette, alpha, CMYK and 1-bit images are converted
    (alpha is dropped); 16-bit and float images ("I", "I;16", "F") are
    reported, since converting them to 8 bits would silently clip.  A sample
    is ``(image, label)`` with the image as HWC uint8 (H, W, 3) or (H, W, 1):
    follow it with ``transforms.ToTensor()`` (and a Resize/crop when sizes differ).
    """

    def __init__(self, root, transform=None, target_transform=None, extensions=IMG_EXTENSIONS, mode="RGB"):
        if mode not in ("RGB", "L"):
            raise ValueError(f"ImageFolder: mode must be 'RGB' or 'L', but got mode={mode!r}")
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a folder")
        extensions = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: {self.root} has no class sub-folders (expected root/<class>/<image>)")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = []
        for c in self.classes:
            for dirpath, _, filenames in sorted(os.walk(self.root / c, followlinks=True)):
                for f in sorted(filenames):
                    if f.lower().endswith(extensions):
                        self.samples.append((os.path.join(dirpath, f), self.class_to_idx[c]))
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no files with extensions {extensions} under {self.root}")
        self.targets = [t for _, t in self.samples]
        self.imgs = self.samples
        self.transform = transform
        self.target_transform = target_transform
        self.mode = mode

    def __len__(self):
        return len(self.samples)

    def load(self, path):
        """The image at ``path`` as HWC uint8 in ``self.mode``."""
        image_module = require("PIL.Image", "ImageFolder")
        try:
            with image_module.open(path) as img:
                if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                    raise DatasetFileError(
                        f"ImageFolder: {path} has mode {img.mode!r} (16-bit or float pixels); converting it "
                        f"to {self.mode!r} would clip values. Convert it to 8 bits first"
                    )
                if img.mode != self.mode:
                    img = img.convert(self.mode)
                array = np.asarray(img, dtype=np.uint8)
        except DatasetFileError:
            raise
        except Exception as exc:  # PIL.UnidentifiedImageError, truncated files, ...
            raise DatasetFileError(f"ImageFolder: cannot read image {path}: {type(exc).__name__}: {exc}") from exc
        return array[:, :, None] if array.ndim == 2 else array

    def __getitem__(self, index):
        index = _check_index(index, len(self), "ImageFolder")
        path, target = self.samples[index]
        image = self.load(path)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self):
        return f"ImageFolder({self.root}, {len(self)} images, {len(self.classes)} classes)"
