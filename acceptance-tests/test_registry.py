"""Installing crossrepl from the signed static registry that `make registry` builds, under each engine: the
provider registry protocol over HTTPS from a plain static file server, with a throwaway GPG key."""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import mirror as mirror_tool  # testbed/mirror.py
import registry as registry_tool  # testbed/registry.py
from lib.harness import Workspace
from lib.services import Mirror


@dataclass
class Registry:
    directory: Path  # the site root
    host: str  # localhost:PORT, the host part of the source address
    source: str  # localhost:PORT/crossrepl/crossrepl
    version: str
    zh: str
    h1: str
    zip_path: Path
    shasums: Path
    key_id: str  # the long id of the key that signed the checksums


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return registry_tool.throwaway_key(tmp_path_factory.mktemp("gpg") / "home")


def build_site(network_mirror: Mirror, out: Path, key_file: Path) -> dict:
    """A registry site at `out` of the provider the session's mirror holds (already stripped of debug info)."""
    with zipfile.ZipFile(network_mirror.zip_path) as z:
        (name,) = z.namelist()
        binary = out.parent / name
        binary.write_bytes(z.read(name))
    signer = registry_tool.Signer(key_file=key_file)
    try:
        return registry_tool.build(binary, out, signer, network_mirror.version)
    finally:
        signer.close()


@pytest.fixture(scope="module")
def site(network_mirror: Mirror, signing_key: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build_site(network_mirror, tmp_path_factory.mktemp("registry") / "site", signing_key)


def serve(directory: Path, built: dict):
    """Serves `directory` as localhost:PORT (the throwaway CA's certificate names localhost): (server, Registry)."""
    server, url, _ = mirror_tool.start_server(directory, url_host="localhost")
    host = url.removeprefix("https://").rstrip("/")
    return server, Registry(directory, host, f"{host}/{mirror_tool.NAMESPACE}/{mirror_tool.TYPE}",
                            built["version"], built["zh"], built["h1"],
                            directory / Path(built["zip"]).relative_to(built["directory"]),
                            directory / Path(built["shasums"]).relative_to(built["directory"]), built["key_id"])


@pytest.fixture(scope="module")
def registry(site: dict):
    server, reg = serve(Path(site["directory"]), site)
    yield reg
    server.shutdown()


def use_registry(ws: Workspace, reg: Registry) -> None:
    """The workspace installs crossrepl from `reg` only: a `direct` installation limited to the registry's host."""
    ws.cli_config.write_text(registry_tool.cli_config(reg.host))
    ws.write(f'terraform {{\n  required_providers {{\n    crossrepl = {{\n      source  = "{reg.source}"\n'
             f'      version = "{reg.version}"\n    }}\n  }}\n}}\n')


def diagnostics_text(r, severity: str) -> list[str]:
    return [f"{d.get('summary')}: {d.get('detail')}" for d in r.diagnostics(severity)]


def test_init_from_registry_is_signed_and_warns_nothing(ws: Workspace, registry: Registry,
                                                        network_mirror: Mirror) -> None:
    use_registry(ws, registry)
    init = ws.init()
    assert init.json_mode
    assert not init.diagnostics("warning"), f"init from the registry warned: {diagnostics_text(init, 'warning')}"
    assert registry.key_id in init.stdout, f"init did not report the signing key {registry.key_id}: {init.stdout}"
    version, hashes = ws.lock_file_hashes()[registry.source]
    assert version == registry.version
    assert registry.zh in hashes, f"lock file {hashes} lacks the signed zip's {registry.zh}"
    assert registry.h1 in hashes, f"lock file {hashes} lacks the installed package's {registry.h1}"
    # Negative control: the same init from the network mirror does warn (a mirror's hashes are not signed).
    ws.cli_config.write_text(mirror_tool.cli_config(network_url=network_mirror.url))
    ws.write(f'terraform {{\n  required_providers {{\n    crossrepl = {{\n      source = "{mirror_tool.SOURCE}"\n'
             f'    }}\n  }}\n}}\n')
    (ws.dir / ".terraform.lock.hcl").unlink()
    mirrored = ws.init()
    assert any("Incomplete lock file" in w for w in diagnostics_text(mirrored, "warning")), \
        f"the control init from the mirror did not warn: {diagnostics_text(mirrored, 'warning')}"


def tampered(site: dict, tmp_path: Path, tamper: str):
    """A served copy of `site` with its zip or signature tampered with: (server, Registry, the error expected)."""
    copy = tmp_path / "tampered"
    shutil.copytree(site["directory"], copy)
    server, reg = serve(copy, site)
    sig = reg.shasums.with_name(reg.shasums.name + ".sig")
    if tamper == "zip":  # a well-formed zip whose binary differs by one byte, listed with the signed checksum
        with zipfile.ZipFile(reg.zip_path) as z:
            (name,) = z.namelist()
            binary = bytearray(z.read(name))
        binary[len(binary) // 2] ^= 0xFF
        (tmp_path / name).write_bytes(bytes(binary))
        mirror_tool.make_zip(tmp_path / name, reg.version, reg.zip_path)
        return server, reg, "checksum"
    if tamper == "signature-bytes":  # the signature's last bytes flipped
        data = bytearray(sig.read_bytes())
        for i in range(len(data) - 8, len(data)):
            data[i] ^= 0xFF
        sig.write_bytes(bytes(data))
        return server, reg, "signature"
    # a valid signature of the same checksums by a key the download document does not list
    signer = registry_tool.Signer(key_file=registry_tool.throwaway_key(tmp_path / "other-gpg"))
    try:
        signer.sign(reg.shasums)
    finally:
        signer.close()
    return server, reg, "signature"


@pytest.mark.parametrize("tamper", ["zip", "signature-bytes", "signature-other-key"])
def test_tampered_registry_is_refused(ws: Workspace, site: dict, tmp_path: Path, tamper: str) -> None:
    server, reg, expected = tampered(site, tmp_path, tamper)
    try:
        use_registry(ws, reg)
        r = ws.run("init", "-input=false")
    finally:
        server.shutdown()
    assert r.returncode != 0, f"init succeeded from a registry with a tampered {tamper}"
    errors = diagnostics_text(r, "error")
    assert any(expected in e.lower() for e in errors), f"init failed, but not with a {expected} error: {errors}"
    assert not (ws.dir / ".terraform.lock.hcl").exists() or reg.source not in ws.lock_file_hashes()


def test_providers_lock_against_registry(ws: Workspace, registry: Registry, site: dict, tmp_path: Path) -> None:
    """`providers lock` asks the registry itself (it ignores provider_installation) and records its signed hashes."""
    use_registry(ws, registry)
    ws.must("providers", "lock", f"-platform={mirror_tool.host_platform()}")
    version, hashes = ws.lock_file_hashes()[registry.source]
    assert version == registry.version
    assert registry.zh in hashes, f"providers lock recorded {hashes}, not the signed {registry.zh}"
    assert not (ws.dir / ".terraform" / "providers").exists(), "providers lock installed the provider"
    # Negative control: against a copy signed by a key the registry does not list, providers lock refuses.
    server, bad, _ = tampered(site, tmp_path, "signature-other-key")
    try:
        use_registry(ws, bad)
        (ws.dir / ".terraform.lock.hcl").unlink()
        r = ws.run("providers", "lock", f"-platform={mirror_tool.host_platform()}")
    finally:
        server.shutdown()
    assert r.returncode != 0, "providers lock accepted a foreign signature"
    assert "signature" in (r.stdout + r.stderr).lower(), f"not a signature error: {r.stdout}{r.stderr}"
