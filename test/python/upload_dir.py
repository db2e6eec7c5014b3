"""Uploads a whole folder with the real OpenMSIStream DataFileUploadDirectory
and exits once the broker has acknowledged every chunk of every file.

DataFileUploadDirectory itself never exits on its own: it watches the folder
until it reads "q" on stdin. This wrapper starts it with --upload_existing,
works out which files it will upload (with OpenMSIStream's own filter), waits
until all of them are listed in its registry of completed uploads
(DIR/LOGS/uploaded_to_<topic>*.csv, which the producer's delivery callback
writes once every chunk of a file is acknowledged), then sends "q" and waits
for it to exit.

usage (with the venv's Python):
  build/venv/bin/python test/python/upload_dir.py DIR --config CFG --topic_name T \
      [--chunk_size N] [--n_threads N] [--upload_regex RE] [--timeout SECONDS] \
      [--log FILE]

Prints one JSON line on stdout: files, bytes, skipped_empty, seconds (from
start to the last file acknowledged). Exit code 0 on success, 1 when the
uploader failed or timed out (its output is then copied to stderr), 2 on
bad usage.

DIR must not hold a registry for the topic from an earlier run: the uploader
skips the files it lists, so there would be nothing to wait for.
"""

import argparse
import json
import logging
import pathlib
import re
import subprocess
import sys
import tempfile
import time

from openmsitoolbox.logging import OpenMSILogger
from openmsistream.data_file_io.actor.file_registry.producer_file_registry import (
    RegistryLineCompleted,
)
from openmsistream.data_file_io.entity.upload_directory_event_handler import (
    UploadDirectoryEventHandler,
)
from openmsistream.utilities.config import RUN_CONST
from openmsistream.utilities.dataclass_table import DataclassTableReadOnly

QUIET = OpenMSILogger("upload_dir", logging.ERROR, None, logging.ERROR)


def expected_files(root, upload_regex):
    """The files DataFileUploadDirectory --upload_existing will send: its own
    filter (LOGS/, dot names, the regex), minus empty files, which have no
    chunks and so are never sent nor registered."""
    handler = UploadDirectoryEventHandler(
        upload_regex, root / "LOGS", 3, logger=QUIET
    )
    files, empty = {}, []
    for path in root.rglob("*"):
        path = path.resolve()
        if handler.filepath_matched(path):
            rel = path.relative_to(root)
            size = path.stat().st_size
            if size == 0:
                empty.append(str(rel))
            else:
                files[rel] = size
    return files, empty


def registry_files(logs, topic):
    # uploaded_to_T.csv (consolidated at start and exit), uploaded_to_T_p<id>.csv
    # (one per producer, written as files complete), and
    # uploaded_to_T_p<id>_<timestamp>.csv (rotated after 1000 lines); a
    # plain prefix match would also take topic T2's files.
    pattern = re.compile(rf"^uploaded_to_{re.escape(topic)}(_p[^.]+)?\.csv$")
    return [p for p in logs.glob("uploaded_to_*.csv") if pattern.match(p.name)]


def completed(logs, topic):
    done = set()
    for path in registry_files(logs, topic):
        try:
            table = DataclassTableReadOnly(RegistryLineCompleted, filepath=path, logger=QUIET)
        except Exception:  # pylint: disable=broad-except
            continue  # renamed away between glob and read; the next poll sees it
        done.update(pathlib.Path(obj.rel_filepath) for obj in table.objects)
    return done


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("upload_dir", type=pathlib.Path)
    parser.add_argument("--config", required=True)
    parser.add_argument("--topic_name", required=True)
    parser.add_argument("--chunk_size", type=int, default=RUN_CONST.DEFAULT_CHUNK_SIZE)
    parser.add_argument("--n_threads", type=int, default=RUN_CONST.N_DEFAULT_UPLOAD_THREADS)
    parser.add_argument("--upload_regex", default=RUN_CONST.DEFAULT_UPLOAD_REGEX.pattern)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--log", type=pathlib.Path, help="keep the uploader's output here")
    args = parser.parse_args()

    root = args.upload_dir.resolve()
    if not root.is_dir():
        parser.error(f"{root} is not a folder")
    logs = root / "LOGS"
    if registry_files(logs, args.topic_name):
        parser.error(
            f"{logs} already lists uploads to {args.topic_name!r}: the uploader would skip "
            "those files; use a new topic or remove that folder"
        )
    want, empty = expected_files(root, re.compile(args.upload_regex))

    exe = pathlib.Path(sys.executable).parent / "DataFileUploadDirectory"
    cmd = [
        str(exe), str(root), "--config", args.config, "--topic_name", args.topic_name,
        "--upload_existing", "--chunk_size", str(args.chunk_size),
        "--n_threads", str(args.n_threads), "--upload_regex", args.upload_regex,
    ]
    out = open(args.log, "w+b") if args.log else tempfile.TemporaryFile()
    start = time.monotonic()
    # stdin stays an open pipe: at EOF the uploader reads "" forever and can
    # never be told to quit.
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
    ok, why = False, ""
    done_at = None
    try:
        while True:
            if proc.poll() is not None:
                why = f"DataFileUploadDirectory exited early with code {proc.returncode}"
                break
            missing = set(want) - completed(logs, args.topic_name)
            if not missing:
                done_at = time.monotonic()
                break
            if time.monotonic() - start > args.timeout:
                why = f"timed out after {args.timeout:.0f} s; {len(missing)} files not acknowledged, e.g. {sorted(map(str, missing))[:5]}"
                break
            time.sleep(0.1)
        if done_at is not None:
            # It reads stdin one character per second: "q" lands within ~2 s,
            # then it flushes its producers and consolidates the registry.
            proc.stdin.write(b"q\n")
            proc.stdin.flush()
            try:
                proc.wait(timeout=60)
                ok = proc.returncode == 0
                why = "" if ok else f"DataFileUploadDirectory exited with code {proc.returncode} after q"
            except subprocess.TimeoutExpired:
                why = "DataFileUploadDirectory did not exit within 60 s of q"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if not ok:
        out.seek(0)
        sys.stderr.write(out.read().decode(errors="replace"))
        print(f"upload_dir.py: {why}", file=sys.stderr)
        return 1
    print(json.dumps({
        "files": len(want),
        "bytes": sum(want.values()),
        "skipped_empty": sorted(empty),
        "seconds": round(done_at - start, 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
