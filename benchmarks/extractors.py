"""Per-file pass cost of the two extractors: the ast extractor (what `extract` runs first)
and the libcst one (its fallback and reference), against a bare `ast.parse` floor.

    python benchmarks/extractors.py PATH...     # files or directories

For each PATH: CPU seconds and seconds per MB of source for `ast.parse`, the ast
extractor and the libcst extractor, each over all the .py files (one process, files
read beforehand, garbage collection off as in the pool's workers); then, for the
largest file, the peak RSS of a fresh process that imports celerylint and extracts that
one file with each extractor (and the RSS growth over the process before extracting).
Run with PYTHONPATH pointing at the working tree.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time

from celerylint.facts.oracle import python_files

_CHILD = r"""
import gc, sys
gc.disable()
from celerylint.facts.ast_extract import extract_ast
from celerylint.facts.extract import extract_libcst
import libcst, libcst._nodes.internal
libcst.parse_module("x = 1\n")
data = open(sys.argv[2], "rb").read()
def status(field):  # VmHWM: this process's own peak (ru_maxrss can carry the parent's, see README)
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith(field)) / 1024
before = status("VmRSS")
facts = (extract_ast if sys.argv[1] == "ast" else extract_libcst)(data, "m", False)
assert facts is not None and facts.error is None, facts and facts.error
print(status("VmHWM"), before)
"""


def main() -> None:
    import ast
    import warnings

    from celerylint.facts.ast_extract import extract_ast
    from celerylint.facts.extract import extract_libcst

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--no-libcst", action="store_true", help="skip the (slow) libcst extractor")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for path in args.paths:
        files = python_files([path])
        blobs = []
        for f in files:
            with open(f, "rb") as fh:
                blobs.append(fh.read())
        megabytes = sum(map(len, blobs)) / 1e6

        def floor(data: bytes) -> None:
            try:
                ast.parse(data)
            except (SyntaxError, ValueError):
                pass

        runs = [("ast.parse", floor), ("ast extractor", lambda d: extract_ast(d, "m", False))]
        if not args.no_libcst:
            runs.append(("libcst extractor", lambda d: extract_libcst(d, "m", False)))
        print(f"{path}: {len(files)} files, {megabytes:.2f} MB")
        gc.disable()
        for label, run in runs:
            start = time.process_time()
            for data in blobs:
                run(data)
            cpu = time.process_time() - start
            gc.collect()
            print(f"  {label:17} {cpu:7.2f} CPU-s  {cpu / megabytes:6.2f} s/MB")
        gc.enable()
        largest = max(range(len(files)), key=lambda i: len(blobs[i]))
        print(f"  largest file: {files[largest]} ({len(blobs[largest]) / 1e6:.2f} MB)")
        for kind in ("ast",) + (() if args.no_libcst else ("libcst",)):
            out = subprocess.run([sys.executable, "-c", _CHILD, kind, files[largest]], capture_output=True,
                                 text=True, check=True).stdout.split()
            peak, before = float(out[0]), float(out[1])
            print(f"  {kind:6} extractor peak RSS {peak:6.0f} MB ({peak - before:+.0f} MB over the process before it)")


if __name__ == "__main__":
    main()
