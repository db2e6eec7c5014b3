"""Prints, as JSON, the chunk messages that the real OpenMSIStream makes of
every file under a folder: its own DataFileChunk and DataFileChunkSerializer,
so the Go encoder and decoder can be checked against them byte for byte.

usage: serialize_chunks.py ROOT CHUNK_SIZE MTIME
"""
import hashlib
import json
import pathlib
import sys

from openmsistream.data_file_io.entity.data_file_chunk import DataFileChunk
from openmsistream.kafka_wrapper.serialization import DataFileChunkSerializer


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    chunk_size = int(sys.argv[2])
    mtime = float(sys.argv[3])
    serialize = DataFileChunkSerializer()
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        file_hash = hashlib.sha512(data).digest()
        pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
        for i, piece in enumerate(pieces, start=1):
            chunk = DataFileChunk(
                path,
                path.name,
                file_hash,
                hashlib.sha512(piece).digest(),
                (i - 1) * chunk_size,
                (i - 1) * chunk_size,
                len(piece),
                i,
                len(pieces),
                rootdir=root,
                data=piece,
                file_mtime=mtime,
            )
            out.append(
                {
                    "rel": path.relative_to(root).as_posix(),
                    "key": chunk.msg_key,
                    "value": serialize(chunk).hex(),
                }
            )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
