"""The `verify` block (proof at apply, issue 16) added to a copy of examples/cross-account/, and its result read back
from the state: shared by `make demo` (demo.py) and `make test-aws` (aws_run.py), which apply that example with the
check on while the example itself stays as users copy it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

SOURCE = 'resource "crossrepl_source" "data" {\n  provider = crossrepl.source\n  bucket   = var.source_bucket\n'


def add_verify(main_tf: Path, timeout: str) -> None:
    """Adds `verify { timeout = ... }` to crossrepl_source.data in `main_tf`."""
    text = main_tf.read_text()
    if SOURCE not in text:
        raise SystemExit(f"{main_tf} no longer declares crossrepl_source.data as expected")
    main_tf.write_text(text.replace(SOURCE, SOURCE + f'\n  verify {{\n    timeout = "{timeout}"\n  }}\n'))


def result(engine: str, workdir: Path, env: dict) -> dict:
    """`verify[0]` of crossrepl_source.data in the state (checked_at, results per rule id)."""
    shown = subprocess.run([engine, "show", "-json"], cwd=workdir, env=env, capture_output=True, text=True,
                           check=True)
    return next(r["values"]["verify"][0] for r in json.loads(shown.stdout)["values"]["root_module"]["resources"]
                if r["address"] == "crossrepl_source.data")
