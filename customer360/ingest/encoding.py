"""Reading a delivered file's bytes once: its SHA-256 (which file is new), its size, and its text encoding.

DuckDB reads UTF-8 only (its `encodings` extension cannot be downloaded here), so files in Windows-1252 or
Latin-1 are transcoded in chunks to a temporary UTF-8 file first. `auto` means UTF-8 (a BOM is fine) when the
bytes are valid UTF-8, Windows-1252 otherwise (what German Excel and newsletter-tool exports use).
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHUNK = 4 * 1024 * 1024

_NAMES = {"utf-8": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1"}


class EncodingProblem(Exception):
    """The file's bytes are not valid in the declared encoding; the message names file, line and the fix."""


def _cp1252_lenient(error: UnicodeError) -> tuple[str, int]:
    # Five bytes are undefined in Windows-1252 (0x81, 0x8D, 0x8F, 0x90, 0x9D); map them like browsers do
    # (to the C1 control with the same number) rather than failing a whole delivery.
    assert isinstance(error, UnicodeDecodeError)
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("c360-cp1252", _cp1252_lenient)


@dataclass(frozen=True)
class FileScan:
    path: Path
    size: int
    sha256: str
    encoding: str  # utf-8, cp1252 or latin-1: what the bytes were read as
    bom: bool
    utf8_error: str | None  # where the bytes stop being UTF-8 (None when they are valid UTF-8)


def scan(path: Path, on_bytes: Callable[[int], None] | None = None) -> FileScan:
    """Hash the file and check whether it is valid UTF-8, in one pass over its bytes."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    size = 0
    newlines = 0
    bom = False
    error: str | None = None
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            if size == 0 and chunk.startswith(codecs.BOM_UTF8):
                bom = True
            digest.update(chunk)
            if error is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as problem:
                    line = newlines + chunk.count(b"\n", 0, problem.start) + 1
                    bad = chunk[problem.start : problem.start + 1].hex()
                    error = f"line {line}, byte offset {size + problem.start} (0x{bad})"
                newlines += chunk.count(b"\n")
            size += len(chunk)
            if on_bytes:
                on_bytes(len(chunk))
    if error is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            error = f"line {newlines + 1}, the end of the file (a UTF-8 character is cut off)"
    return FileScan(path, size, digest.hexdigest(), "utf-8" if error is None else "cp1252", bom, error)


def choose_encoding(scan_: FileScan, declared: str, label: str) -> str:
    """The encoding to read the file as, given what is declared (`auto`, `utf-8`, `cp1252`, `latin-1`)."""
    if declared == "auto":
        return "utf-8" if scan_.utf8_error is None else "cp1252"
    if declared == "utf-8" and scan_.utf8_error is not None:
        raise EncodingProblem(
            f"{label}: {scan_.path} is not valid UTF-8 ({scan_.utf8_error}). If the file comes from Excel or "
            "another Windows tool it is probably Windows-1252: set `csv: {encoding: cp1252}` (or `auto`) "
            "for this table."
        )
    return declared


def to_utf8(path: Path, encoding: str, target: Path) -> Path:
    """Transcode a single-byte-encoded file to UTF-8 in chunks (no BOM)."""
    errors = "c360-cp1252" if encoding == "cp1252" else "strict"
    with path.open("rb") as source, target.open("wb") as sink:
        while chunk := source.read(CHUNK):
            sink.write(chunk.decode(encoding, errors=errors).encode("utf-8"))
    return target


def describe(encoding: str) -> str:
    return _NAMES.get(encoding, encoding)
