"""Installing crossrepl from the HTTPS network mirror, under each engine."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

import mirror as mirror_tool  # testbed/mirror.py
from lib.harness import SOURCE, Workspace
from lib.scenarios import required_providers
from lib.services import Mirror, load_mirror


def test_init_from_network_mirror_records_h1(ws: Workspace, network_mirror: Mirror) -> None:
    ws.write(required_providers(network_mirror.version))
    init = ws.init()
    if init.json_mode:
        assert not init.diagnostics("error")
    locked = ws.lock_file_hashes()
    assert SOURCE in locked, f"lock file does not record {SOURCE}: {locked}"
    version, hashes = locked[SOURCE]
    assert version == network_mirror.version
    assert network_mirror.h1 in hashes, f"lock file hashes {hashes} lack the mirror's {network_mirror.h1}"
    installed = list((ws.dir / ".terraform" / "providers" / SOURCE / version).glob("*/terraform-provider-crossrepl_v*"))
    assert installed, "provider binary not installed under .terraform/providers"


@pytest.mark.parametrize("tamper", ["flipped-bytes", "valid-zip-other-binary"])
def test_tampered_zip_fails_init_with_checksum_error(ws: Workspace, network_mirror: Mirror, tmp_path: Path,
                                                     tamper: str) -> None:
    # a copy of the mirror whose zip is altered but still listed with the original hashes
    copy = tmp_path / "tampered-mirror"
    shutil.copytree(network_mirror.directory, copy)
    bad = load_mirror(copy, "", network_mirror.ca_file)
    if tamper == "flipped-bytes":  # a corrupt archive
        data = bytearray(bad.zip_path.read_bytes())
        middle = len(data) // 2
        for i in range(middle, middle + 16):
            data[i] ^= 0xFF
        bad.zip_path.write_bytes(bytes(data))
    else:  # a well-formed archive whose binary differs by one byte: only the hash can tell
        with zipfile.ZipFile(network_mirror.zip_path) as z:
            (name,) = z.namelist()
            binary = bytearray(z.read(name))
        binary[len(binary) // 2] ^= 0xFF
        tmp_bin = tmp_path / name
        tmp_bin.write_bytes(bytes(binary))
        mirror_tool.make_zip(tmp_bin, network_mirror.version, bad.zip_path, compress=False)
    assert mirror_tool.hash_zh(bad.zip_path) != network_mirror.zh
    server, url, ca = mirror_tool.start_server(copy)
    try:
        tampered = Workspace(ws.engine, ws.dir, url, ca)
        tampered.runs = ws.runs  # one transcript for the failure report
        tampered.write(required_providers(network_mirror.version))
        r = tampered.run("init", "-input=false")
    finally:
        server.shutdown()
    assert r.returncode != 0, "init succeeded with a tampered provider zip"
    errors = [f"{d.get('summary')}: {d.get('detail')}" for d in r.diagnostics("error")] if r.json_mode \
        else [r.stdout + r.stderr]
    assert any("checksum" in e.lower() for e in errors), f"init failed, but not with a checksum error: {errors}"
    assert not (ws.dir / ".terraform.lock.hcl").exists() or SOURCE not in tampered.lock_file_hashes()


def test_init_from_filesystem_mirror(ws: Workspace, network_mirror: Mirror) -> None:
    """The packed filesystem mirror that `mirror.py build` lays out next to the network mirror works too."""
    fs_mirror = network_mirror.directory.parent / "filesystem-mirror"
    ws.cli_config.write_text(mirror_tool.cli_config(fs_dir=fs_mirror))
    ws.write(required_providers(network_mirror.version))
    ws.init()
    version, hashes = ws.lock_file_hashes()[SOURCE]
    assert version == network_mirror.version
    assert network_mirror.h1 in hashes
