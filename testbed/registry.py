#!/usr/bin/env python3
"""A static provider registry for crossrepl: what `terraform init` / `tofu init` download a provider from when its
source address names your own host (`registry.example.internal/crossrepl/crossrepl`), signed like the public
registries' releases.

    registry.py build [BINARY] --out DIR (--gpg-key-id ID | --gpg-key-file FILE)   package and sign
    registry.py serve [--dir DIR] [--port N]                                          serve DIR over HTTPS
    registry.py cli-config --host HOST [--out FILE]                                   install only from HOST
    registry.py throwaway-key DIR                                                     a test signing key

`build` writes a site that any static HTTPS host serves as it is (files at exactly the paths the engines request,
relative links only), following the provider registry protocol
(https://developer.hashicorp.com/terraform/internals/provider-registry-protocol,
https://opentofu.org/docs/internals/provider-registry-protocol/):

    .well-known/terraform.json                           service discovery: {"providers.v1": "/v1/providers/"}
    v1/providers/crossrepl/crossrepl/versions            every version with its protocols and platforms
    v1/providers/crossrepl/crossrepl/<v>/download/<os>/<arch>   the download document (no extension)
    v1/providers/crossrepl/crossrepl/<v>/terraform-provider-crossrepl_<v>_<os>_<arch>.zip
    v1/providers/crossrepl/crossrepl/<v>/terraform-provider-crossrepl_<v>_manifest.json   (terraform-registry-manifest.json)
    v1/providers/crossrepl/crossrepl/<v>/terraform-provider-crossrepl_<v>_SHA256SUMS      (zips + manifest)
    v1/providers/crossrepl/crossrepl/<v>/terraform-provider-crossrepl_<v>_SHA256SUMS.sig  (binary detached signature)

The download document's `download_url`, `shasums_url` and `shasums_signature_url` are relative: both engines
resolve them against the document's own URL (Terraform internal/getproviders/registry_client.go, ResolveReference),
so the site works under any host name. A host must send `/.well-known/terraform.json` as `application/json`: the
engines refuse a discovery document of another type (terraform-svchost disco.go, "Discovery URL returned an
unsupported Content-Type"); the other documents are read whatever their type. Building another platform's binary
into the same DIR adds it to the version and signs the checksums again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mirror  # testbed/mirror.py: zips, hashes, the throwaway TLS CA and the HTTPS server

ROOT = mirror.ROOT
NAMESPACE, TYPE, NAME = mirror.NAMESPACE, mirror.TYPE, mirror.NAME
MANIFEST = ROOT / "terraform-registry-manifest.json"
PROVIDERS_PATH = Path("v1/providers") / NAMESPACE / TYPE


def log(msg: str) -> None:
    print(f"registry: {msg}", file=sys.stderr, flush=True)


def protocols() -> list[str]:
    """The plugin protocol versions the provider speaks, from terraform-registry-manifest.json. The engines read
    them from the versions and download documents; the manifest itself is for publishing to a public registry."""
    return json.loads(MANIFEST.read_text())["metadata"]["protocol_versions"]


class Signer:
    """Signs with a GnuPG key: the user's (`key_id` in their keyring) or one imported from an armored secret key
    file into a temporary GNUPGHOME. GPG_PASSPHRASE, when set, unlocks it without a prompt."""

    def __init__(self, key_id: str | None = None, key_file: Path | None = None):
        if bool(key_id) == bool(key_file):
            raise SystemExit("registry: give the signing key: --gpg-key-id ID (GPG_KEY_ID) or --gpg-key-file FILE")
        self.env = dict(os.environ)
        self._home = None
        if key_file:
            self._home = tempfile.TemporaryDirectory(prefix="crossrepl-gpg-")
            self.env["GNUPGHOME"] = self._home.name
            self.gpg("--import", str(key_file))
            key_id = self.secret_key_fingerprint()
        self.key_id = key_id

    def gpg(self, *args: str, stdin: bytes | None = None) -> bytes:
        unlock = ["--pinentry-mode", "loopback", "--passphrase", os.environ["GPG_PASSPHRASE"]] \
            if os.environ.get("GPG_PASSPHRASE") else []
        p = subprocess.run(["gpg", "--batch", "--yes", *unlock, *args], env=self.env, input=stdin,
                           capture_output=True)
        if p.returncode:
            raise SystemExit(f"registry: gpg {args[0]} failed: {p.stderr.decode(errors='replace').strip()}")
        return p.stdout

    def secret_key_fingerprint(self) -> str:
        lines = self.gpg("--with-colons", "--list-secret-keys").decode().splitlines()
        fprs = [line.split(":")[9] for line in lines if line.startswith("fpr:")]
        if not fprs:
            raise SystemExit("registry: the key file holds no secret key")
        return fprs[0]

    def public_key(self) -> dict:
        """The signing_keys.gpg_public_keys entry: the long key id and the armored public key."""
        armor = self.gpg("--armor", "--export", self.key_id).decode()
        if "BEGIN PGP PUBLIC KEY BLOCK" not in armor:
            raise SystemExit(f"registry: no public key {self.key_id} in the keyring")
        lines = self.gpg("--with-colons", "--list-keys", self.key_id).decode().splitlines()
        long_id = next(line.split(":")[4] for line in lines if line.startswith("pub:"))
        return {"key_id": long_id, "ascii_armor": armor, "trust_signature": "", "source": "crossrepl",
                "source_url": "https://github.com/crossrepl/crossrepl"}

    def sign(self, path: Path) -> Path:
        sig = path.with_name(path.name + ".sig")
        self.gpg("--local-user", self.key_id, "--detach-sign", "--output", str(sig), str(path))
        return sig

    def close(self) -> None:
        """Stops the gpg-agent of the temporary GNUPGHOME and removes it (the user's keyring is left alone)."""
        if self._home:
            stop_agent(Path(self._home.name))
            self._home.cleanup()
            self._home = None


def stop_agent(home: Path) -> None:
    """gpg starts an agent per GNUPGHOME; this stops the one of `home`."""
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": str(home)},
                   capture_output=True, check=False)


def build(binary: Path, out: Path, signer: Signer, version: str | None = None, plat: str | None = None,
          strip_debug: bool = False) -> dict:
    if not binary.is_file():
        raise SystemExit(f"registry: provider binary {binary} not found (build it first)")
    version = version or mirror.cargo_version()
    plat = plat or mirror.host_platform()
    os_name, arch = plat.split("_", 1)
    vdir = out / PROVIDERS_PATH / version
    vdir.mkdir(parents=True, exist_ok=True)
    if strip_debug:  # as mirror.py: a debug build carries DWARF that only slows packaging and every init
        stripped = vdir.parent / f"{binary.name}.stripped"
        subprocess.run(["strip", "--strip-debug", "-o", str(stripped), str(binary)], check=True)
        binary = stripped
    zip_name = f"{NAME}_{version}_{plat}.zip"
    mirror.make_zip(binary, version, vdir / zip_name)
    if strip_debug:
        binary.unlink()
    shutil.copy2(MANIFEST, vdir / f"{NAME}_{version}_manifest.json")
    # The checksums cover every platform of this version built into `out`, and are signed again.
    sums_name = f"{NAME}_{version}_SHA256SUMS"
    listed = sorted([*vdir.glob(f"{NAME}_{version}_*.zip"), vdir / f"{NAME}_{version}_manifest.json"])
    (vdir / sums_name).write_text("".join(f"{mirror.hash_zh(p)[3:]}  {p.name}\n" for p in listed))
    signer.sign(vdir / sums_name)
    key = signer.public_key()
    platforms = sorted(p.name[len(f"{NAME}_{version}_"):-len(".zip")] for p in vdir.glob(f"{NAME}_{version}_*.zip"))
    for p in platforms:  # every platform's document names the new key
        po, pa = p.split("_", 1)
        doc = {
            "protocols": protocols(),
            "os": po,
            "arch": pa,
            "filename": f"{NAME}_{version}_{p}.zip",
            # relative to .../<v>/download/<os>/<arch>: the files sit in .../<v>/
            "download_url": f"../../{NAME}_{version}_{p}.zip",
            "shasums_url": f"../../{sums_name}",
            "shasums_signature_url": f"../../{sums_name}.sig",
            "shasum": mirror.hash_zh(vdir / f"{NAME}_{version}_{p}.zip")[3:],
            "signing_keys": {"gpg_public_keys": [key]},
        }
        (vdir / "download" / po).mkdir(parents=True, exist_ok=True)
        (vdir / "download" / po / pa).write_text(json.dumps(doc, indent=2) + "\n")
    versions = []
    for d in sorted(p for p in (out / PROVIDERS_PATH).iterdir() if (p / "download").is_dir()):
        plats = [{"os": o.name, "arch": a.name} for o in sorted((d / "download").iterdir()) for a in sorted(o.iterdir())]
        versions.append({"version": d.name, "protocols": protocols(), "platforms": plats})
    (out / PROVIDERS_PATH / "versions").write_text(json.dumps({"versions": versions}, indent=2) + "\n")
    (out / ".well-known").mkdir(exist_ok=True)
    (out / ".well-known" / "terraform.json").write_text(json.dumps({"providers.v1": "/v1/providers/"}) + "\n")
    zip_path = vdir / zip_name
    log(f"{NAMESPACE}/{TYPE} {version} {plat}: {zip_path} signed by {key['key_id']}; site: {out}")
    return {"version": version, "platform": plat, "zip": str(zip_path), "zh": mirror.hash_zh(zip_path),
            "h1": mirror.hash_h1(zip_path), "key_id": key["key_id"], "directory": str(out),
            "shasums": str(vdir / sums_name)}


def throwaway_key(home: Path) -> Path:
    """Generates an unprotected ed25519 signing key in a new GNUPGHOME `home` and exports its secret key to
    `home`/signing-key.asc (for tests and demos; real releases sign with the team's key)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "crossrepl test signing key (throwaway)",
                    "ed25519", "sign", "1d"], env=env, check=True, capture_output=True)
    key = home / "signing-key.asc"
    key.write_bytes(subprocess.run(["gpg", "--batch", "--armor", "--export-secret-keys"], env=env, check=True,
                                   capture_output=True).stdout)
    stop_agent(home)
    return key


def cli_config(host: str) -> str:
    """A CLI configuration that installs crossrepl from the registry at `host` (`name[:port]`) and nothing else
    from anywhere."""
    return f'provider_installation {{\n  direct {{\n    include = ["{host}/{NAMESPACE}/*"]\n  }}\n}}\n'


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="package and sign a provider binary into a static registry site")
    b.add_argument("binary", nargs="?", help=f"default: <cargo target dir>/release/{NAME}")
    b.add_argument("--out", default=str(ROOT / "dist" / "registry"))
    b.add_argument("--version", help="default: [workspace.package] version in Cargo.toml")
    b.add_argument("--platform", help="<os>_<arch> of BINARY (default: this machine's)")
    b.add_argument("--gpg-key-id", default=os.environ.get("GPG_KEY_ID") or None,
                   help="sign with this key of your keyring (default: $GPG_KEY_ID)")
    b.add_argument("--gpg-key-file", default=os.environ.get("GPG_KEY_FILE") or None,
                   help="sign with the armored secret key in this file (default: $GPG_KEY_FILE)")
    b.add_argument("--strip-debug", action="store_true", help="package a copy without debug info (test builds)")
    s = sub.add_parser("serve", help="serve a registry site over HTTPS on 127.0.0.1 (as localhost)")
    s.add_argument("--dir", default=str(ROOT / "dist" / "registry"))
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--host", default="localhost",
                   help="host name in source addresses (default localhost; the throwaway cert covers it)")
    s.add_argument("--cert", help="PEM certificate (chain) for --host; default: a throwaway CA's cert for localhost")
    s.add_argument("--key", help="PEM private key of --cert")
    c = sub.add_parser("cli-config", help="write a CLI configuration that installs crossrepl only from HOST")
    c.add_argument("--host", required=True, help="the registry's host[:port]")
    c.add_argument("--out")
    k = sub.add_parser("throwaway-key", help="generate an unprotected test signing key in a new GNUPGHOME")
    k.add_argument("home")
    a = ap.parse_args()
    if a.command == "build":
        binary = Path(a.binary) if a.binary else mirror.cargo_target_dir() / "release" / NAME
        signer = Signer(a.gpg_key_id, Path(a.gpg_key_file) if a.gpg_key_file else None)
        try:
            print(json.dumps(build(binary, Path(a.out).resolve(), signer, a.version, a.platform, a.strip_debug),
                             indent=2))
        finally:
            signer.close()
    elif a.command == "serve":
        directory = Path(a.dir)
        if not (directory / ".well-known" / "terraform.json").is_file():
            raise SystemExit(f"registry: {directory} holds no registry: run `make registry` first")
        def config_for(url: str) -> tuple[str, str]:
            host = url.removeprefix("https://").rstrip("/")
            return cli_config(host), f"source address: {host}/{NAMESPACE}/{TYPE}\n"

        mirror.serve(directory, a, "registry.tfrc", config_for)
    elif a.command == "cli-config":
        text = cli_config(a.host)
        if a.out:
            Path(a.out).write_text(text)
        else:
            sys.stdout.write(text)
    elif a.command == "throwaway-key":
        print(throwaway_key(Path(a.home).resolve()))


if __name__ == "__main__":
    main()
