"""Runs the real OpenMSIStream DataFileDownloadDirectory until it has rebuilt
every file of a reference folder, then stops it: the baseline to compare
this program's speed and output with.

DataFileDownloadDirectory runs until it reads "q" on stdin and writes each
chunk in place under the file's final name, so neither its exit nor a file's
existence or size says a file is complete. This wrapper compares each output
file with the reference (size, then SHA-512 whenever the file changed) and
sends "q" once all match.

usage (with the venv's Python):
  build/venv/bin/python test/python/download_dir.py OUT --config CFG --topic_name T \
      --expect REFDIR [--n_threads N] [--upload_regex RE] [--timeout SECONDS] \
      [--log FILE] [-- MORE DataFileDownloadDirectory ARGS]

REFDIR is the folder that was uploaded; the files expected are those
DataFileUploadDirectory sends from it (same filter as upload_dir.py).
Prints one JSON line on stdout:
  seconds         start of the process to the last write of any output file
                  (file mtimes, so independent of this script's polling;
                  includes Python's start-up, about 1 s)
  detected_after  when this script saw everything complete
  messages_consumed, files_reconstructed   from the program's own summary
Exit code 0 when every file matched and the program exited cleanly after q.
The program's log file goes to FILE.DataFileDownloadDirectory.log beside --log
(or to a temporary folder), not into OUT, so OUT holds only the rebuilt files.
"""

import argparse
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from upload_dir import expected_files  # pylint: disable=wrong-import-position
from openmsistream.utilities.config import RUN_CONST  # pylint: disable=wrong-import-position


def sha512_of(path):
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.digest()


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output_dir", type=pathlib.Path)
    parser.add_argument("--config", required=True)
    parser.add_argument("--topic_name", required=True)
    parser.add_argument("--expect", type=pathlib.Path, required=True)
    parser.add_argument("--n_threads", type=int, default=RUN_CONST.N_DEFAULT_UPLOAD_THREADS)
    parser.add_argument("--upload_regex", default=RUN_CONST.DEFAULT_UPLOAD_REGEX.pattern)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--log", type=pathlib.Path, help="keep the program's output here")
    args = parser.parse_args(argv)

    ref = args.expect.resolve()
    sizes, _ = expected_files(ref, re.compile(args.upload_regex))
    hashes = {rel: sha512_of(ref / rel) for rel in sizes}
    out_dir = args.output_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    tmp = tempfile.TemporaryDirectory()
    logfile = (
        args.log.resolve().with_name(args.log.name + ".DataFileDownloadDirectory.log")
        if args.log
        else pathlib.Path(tmp.name) / "DataFileDownloadDirectory.log"
    )
    exe = pathlib.Path(sys.executable).parent / "DataFileDownloadDirectory"
    cmd = [
        str(exe), str(out_dir), "--config", args.config, "--topic_name", args.topic_name,
        "--n_threads", str(args.n_threads),
        "--logger_file_path", str(logfile),
        *extra,
    ]
    out = open(args.log, "w+b") if args.log else tempfile.TemporaryFile()
    start = time.time()
    # stdin stays an open pipe: at EOF the program reads "" forever and can
    # never be told to quit.
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
    pending = dict(sizes)  # rel -> size, until the content matches
    seen = {}  # rel -> (size, mtime_ns) when last hashed
    last_write = start
    ok, why, detected = False, "", None
    try:
        while pending:
            if proc.poll() is not None:
                why = f"DataFileDownloadDirectory exited early with code {proc.returncode}"
                break
            if time.time() - start > args.timeout:
                why = f"timed out after {args.timeout:.0f} s; {len(pending)} files incomplete, e.g. {sorted(map(str, pending))[:5]}"
                break
            for rel, size in list(pending.items()):
                try:
                    st = os.stat(out_dir / rel)
                except FileNotFoundError:
                    continue
                if st.st_size != size or seen.get(rel) == (st.st_size, st.st_mtime_ns):
                    continue
                seen[rel] = (st.st_size, st.st_mtime_ns)
                if sha512_of(out_dir / rel) == hashes[rel]:
                    del pending[rel]
                    last_write = max(last_write, st.st_mtime_ns / 1e9)
            if pending:
                time.sleep(0.1)
        if not pending:
            detected = time.time() - start
            # It reads stdin one character per second, so "q" lands within
            # about 2 s; it then stops its consumers and prints a summary.
            proc.stdin.write(b"q\n")
            proc.stdin.flush()
            try:
                proc.wait(timeout=60)
                ok = proc.returncode == 0
                why = "" if ok else f"DataFileDownloadDirectory exited with code {proc.returncode} after q"
            except subprocess.TimeoutExpired:
                why = "DataFileDownloadDirectory did not exit within 60 s of q"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out.seek(0)
    text = out.read().decode(errors="replace")
    if not ok:
        sys.stderr.write(text)
        print(f"download_dir.py: {why}", file=sys.stderr)
        return 1
    summary = re.search(
        r"(\d+) total messages were consumed, (\d+) messages were successfully processed, "
        r"and (\d+) files were successfully reconstructed",
        text,
    )
    print(json.dumps({
        "files": len(sizes),
        "bytes": sum(sizes.values()),
        "seconds": round(last_write - start, 3),
        "detected_after": round(detected, 3),
        "messages_consumed": int(summary.group(1)) if summary else None,
        "files_reconstructed": int(summary.group(3)) if summary else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
