#!/usr/bin/env python3
"""Runs the provider binary named in $CROSSREPL_BENCH_REAL as a child with the same stdio, and when it exits,
appends its peak resident set size (KiB, from getrusage) to $CROSSREPL_BENCH_RSS_LOG."""

import os
import resource
import subprocess
import sys

child = subprocess.run([os.environ["CROSSREPL_BENCH_REAL"], *sys.argv[1:]])
with open(os.environ["CROSSREPL_BENCH_RSS_LOG"], "a") as log:
    log.write(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\n")
sys.exit(child.returncode)
