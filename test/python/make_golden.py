"""Writes golden chunk messages made by the real OpenMSIStream into
download/testdata/golden/, so the Go encoder (download/internal/uploadtest)
and decoder can be checked against it byte for byte without Python.

The 10-item messages come from openmsistream's own UploadDataFile (chunking,
hashes, mtime capture, key) and DataFileChunkSerializer (msgpack layout), as
its test_serialization.py does. The 9-item ones are packed with msgpack
directly, as its backward-compatibility test does, because no 9-item
serializer ships any more.

usage: build/venv/bin/python test/python/make_golden.py [OUT_DIR]

Every run writes the same bytes (pinned mtimes, fixed contents), so a diff
after re-running means OpenMSIStream or msgpack changed the format.
"""

import base64
import hashlib
import json
import logging
import os
import pathlib
import sys
import tempfile

import msgpack
from openmsitoolbox.logging import OpenMSILogger

import openmsistream
from openmsistream import UploadDataFile
from openmsistream.kafka_wrapper.serialization import (
    DataFileChunkDeserializer,
    DataFileChunkSerializer,
)

REPO = pathlib.Path(__file__).resolve().parents[2]


def pattern(size):
    """Content of the big file, recomputed by the Go test instead of stored."""
    return bytes(i % 251 for i in range(size))


# rel path, content, chunk size, mtime in ns (None: not captured -> 0.0),
# filename_append, layout, chunks to keep (None: all)
FILES = [
    # the worked example of wire-format.md
    ("hello.txt", b"hello", 524288, 1700000000_000000000, "", 10, None),
    ("a/b/nested.txt", b"nested file\n", 524288, 1700000000_250000000, "", 10, None),
    # a realistic mtime that is not a short binary fraction
    ("données/résumé ✓ 日本.txt", "unicode ✓\n".encode(), 524288, 1712345678_123456789, "", 10, None),
    ("three.bin", bytes(range(40)), 16, 1700000001_500000000, "", 10, None),
    # chunk_i, n_total_chunks and offsets in every msgpack int width up to uint32
    ("wide/ints.dat", pattern(70000), 16, 1700000002_000000000, "", 10, [1, 8, 9, 17, 4096, 4097, 4375]),
    # file_mtime unknown (0.0 on the wire) and a filename_append
    ("x/archive.tar.gz", b"not really gzip", 524288, None, "_v2", 10, None),
    # an uploader before v1.8.6.1: the same array without file_mtime
    ("legacy/old.txt", b"from an old uploader\n", 8, 1700000003_000000000, "", 9, None),
]


def chunks_of(root, rel, content, chunk_size, mtime_ns, append, logger):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    udf = UploadDataFile(path, rootdir=root, filename_append=append, logger=logger)
    # pylint: disable=protected-access
    udf._build_list_of_file_chunks(chunk_size, capture_mtime=mtime_ns is not None)
    udf.add_chunks_to_upload()
    for chunk in udf.chunks_to_upload:
        chunk.populate_with_file_data(logger=logger)
    return udf.chunks_to_upload


def legacy9(chunk, strings_as_bin=False):
    """The serializer's list without file_mtime; bytes for text when an old
    packer (or the backward-compatibility test) wrote str as bin."""
    text = (lambda s: s.encode()) if strings_as_bin else (lambda s: s)
    return msgpack.packb(
        [
            text(str(chunk.filename)),
            chunk.file_hash,
            chunk.chunk_hash,
            chunk.chunk_offset_write,
            chunk.chunk_i,
            chunk.n_total_chunks,
            text(chunk.subdir_str),
            text(chunk.filename_append),
            chunk.data,
        ],
        use_bin_type=True,
    )


def entry(name, chunk, layout, strings_as_bin, rel):
    return {
        "name": name,
        "file": f"{name}.bin",
        "source": rel,
        "layout": layout,
        "strings_as_bin": strings_as_bin,
        "key": chunk.msg_key,
        "filename": chunk.filename,
        "subdir": chunk.subdir_str,
        "filename_append": chunk.filename_append,
        "chunk_i": chunk.chunk_i,
        "n_total_chunks": chunk.n_total_chunks,
        "chunk_offset_write": chunk.chunk_offset_write,
        "data": base64.b64encode(chunk.data).decode(),
        "file_hash": chunk.file_hash.hex(),
        "chunk_hash": chunk.chunk_hash.hex(),
        # what the serializer puts on the wire (None -> 0.0); null: no item
        "file_mtime": (chunk.file_mtime or 0.0) if layout == 10 else None,
    }


def check(value, e):
    """The real deserializer must read back what the manifest says."""
    got = DataFileChunkDeserializer()(value)
    assert got.filename == e["filename"], (got.filename, e)
    assert got.subdir_str == e["subdir"], (got.subdir_str, e)
    assert got.filename_append == e["filename_append"]
    assert (got.chunk_i, got.n_total_chunks, got.chunk_offset_write) == (
        e["chunk_i"],
        e["n_total_chunks"],
        e["chunk_offset_write"],
    )
    assert got.data == base64.b64decode(e["data"])
    assert got.file_hash.hex() == e["file_hash"]
    assert got.chunk_hash.hex() == e["chunk_hash"]
    assert (got.file_mtime or 0.0) == (e["file_mtime"] or 0.0)


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "download/testdata/golden"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.bin"):
        old.unlink()
    logger = OpenMSILogger("make_golden", logging.WARNING, None, logging.WARNING)
    serialize = DataFileChunkSerializer()
    vectors, files = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp).resolve()
        for rel, content, chunk_size, mtime_ns, append, layout, keep in FILES:
            chunks = chunks_of(root, rel, content, chunk_size, mtime_ns, append, logger)
            names = []
            for chunk in chunks:
                if keep is not None and chunk.chunk_i not in keep:
                    continue
                stem = rel.replace("/", "_") if rel.isascii() else "unicode"
                name = f"{stem}_chunk_{chunk.chunk_i}_of_{chunk.n_total_chunks}"
                value = serialize(chunk) if layout == 10 else legacy9(chunk)
                e = entry(name, chunk, layout, False, rel)
                check(value, e)
                (out / e["file"]).write_bytes(value)
                vectors.append(e)
                names.append(name)
            f = {
                "rel": rel,
                "chunk_size": chunk_size,
                # st_mtime as Python computed it, not mtime_ns / 1e9: they
                # can differ in the last bit
                "file_mtime": (chunks[0].file_mtime or 0.0) if layout == 10 else None,
                "filename_append": append,
                "layout": layout,
                "size": len(content),
                "sha512": hashlib.sha512(content).hexdigest(),
                "vectors": names,
            }
            if rel == "wide/ints.dat":
                f["pattern"] = "i%251"
            else:
                f["content"] = base64.b64encode(content).decode()
            files.append(f)
        # the exact message of openmsistream's backward-compatibility test:
        # every text item packed as bin
        path = root / "subdir" / "testfile.dat"
        chunk = chunks_of(root, "subdir/testfile.dat", b"test data for backward compat", 524288, None, "", logger)[0]
        value = legacy9(chunk, strings_as_bin=True)
        e = entry("bin_strings_9", chunk, 9, True, "subdir/testfile.dat")
        check(value, e)
        (out / e["file"]).write_bytes(value)
        vectors.append(e)
        assert path.exists()
    # msgpack's own int encodings at every width boundary, for the Go
    # encoder's forged values (negative ones included)
    ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1,
            -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63)]
    manifest = {
        "about": "Chunk messages made by the real OpenMSIStream; written by test/python/make_golden.py",
        "openmsistream": openmsistream.__version__ if hasattr(openmsistream, "__version__") else "",
        "msgpack": ".".join(map(str, msgpack.version)),
        "vectors": vectors,
        "files": files,
        "ints": [{"value": v, "hex": msgpack.packb(v).hex()} for v in ints],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"{len(vectors)} vectors, {size} bytes in {out}")


if __name__ == "__main__":
    main()
