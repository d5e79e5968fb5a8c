"""Fetching dataset files: mirrors, checksums, atomic writes.

``download_file`` streams a URL to a temporary file in the destination
folder, hashing as it goes, checks the byte count and the checksum, and only
then renames it into place (``os.replace``).  A half-finished or corrupt
download therefore never sits under the real name: the next run sees no file
and starts again.  Mirrors are tried in order; when all fail the error names
every URL and what went wrong (offline machines get "no network" here, not a
traceback from deep inside urllib).  Only ``urllib.request`` is used.
"""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from ._common import atomic_path

CHUNK = 1 << 20


class ChecksumError(RuntimeError):
    """A file's MD5 / SHA-256 is not the published one."""


def file_digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _algorithm(checksum):
    """'md5:...'/'sha256:...' or a bare hex digest (32 chars: MD5, 64: SHA-256)."""
    if ":" in checksum:
        name, value = checksum.split(":", 1)
        return name.lower(), value.lower()
    return ("md5" if len(checksum) == 32 else "sha256"), checksum.lower()


def check_integrity(path, checksum):
    """True when ``path`` exists and (if ``checksum`` is given) has that digest."""
    path = Path(path)
    if not path.is_file():
        return False
    if checksum is None:
        return True
    algorithm, expected = _algorithm(checksum)
    return file_digest(path, algorithm) == expected


def download_file(urls, path, checksum=None, timeout=30):
    """Fetch the first of ``urls`` that works into ``path``, verified by ``checksum``.

    urls: one URL or a list of mirrors of the same file.
    checksum: hex MD5 or SHA-256 (or "md5:..."/"sha256:..."); None skips the check.
    Returns the path.  Raises RuntimeError naming each URL and its error when
    none gives the right bytes; nothing is left at ``path`` in that case.
    """
    if isinstance(urls, str):
        urls = [urls]
    path = Path(path)
    errors = []
    for url in urls:
        try:
            _fetch(url, path, checksum, timeout)
            return path
        except ChecksumError as exc:
            errors.append(f"{url}: {exc}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            errors.append(f"{url}: {type(exc).__name__}: {reason}")
    raise RuntimeError(
        f"could not download {path.name} (no file was written):\n  " + "\n  ".join(errors)
        + "\nCheck the network connection (is this machine offline?), or fetch the file yourself "
        f"and put it at {path}"
    )


def _fetch(url, path, checksum, timeout):
    algorithm, expected = _algorithm(checksum) if checksum else ("sha256", None)
    digest = hashlib.new(algorithm)
    request = urllib.request.Request(url, headers={"User-Agent": "minicnn"})
    with atomic_path(path) as tmp:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
            length = response.headers.get("Content-Length")
            received = 0
            for block in iter(lambda: response.read(CHUNK), b""):
                digest.update(block)
                out.write(block)
                received += len(block)
        if length is not None and received != int(length):
            raise OSError(f"connection closed after {received} of {length} bytes")
        if expected is not None and digest.hexdigest() != expected:
            raise ChecksumError(
                f"{algorithm} checksum mismatch: got {digest.hexdigest()}, expected {expected} "
                f"({received} bytes received); the file was discarded"
            )
    os.utime(path)
    return path
