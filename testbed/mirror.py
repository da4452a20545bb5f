#!/usr/bin/env python3
"""Provider registry mirror for crossrepl: release zips, a filesystem mirror and an HTTPS network mirror.

    mirror.py build [BINARY] [--out DIR]       package BINARY (default: the release build in cargo's target dir)
    mirror.py serve [--dir DIR] [--port N]     serve DIR/network-mirror over HTTPS on 127.0.0.1 (throwaway CA)
    mirror.py cli-config (--url URL | --fs DIR) [--out FILE]   write a CLI config that installs crossrepl from it

`build` writes into DIR (default dist/):
    release/terraform-provider-crossrepl_<v>_<os>_<arch>.zip      (holds terraform-provider-crossrepl_v<v>)
    release/terraform-provider-crossrepl_<v>_SHA256SUMS
    filesystem-mirror/registry.terraform.io/crossrepl/crossrepl/terraform-provider-crossrepl_<v>_<os>_<arch>.zip
    network-mirror/registry.terraform.io/crossrepl/crossrepl/{index.json,<v>.json,<zip>}
The version is [workspace.package] version of the root Cargo.toml. Hashes: h1 = Go dirhash Hash1 over the files
in the zip, zh = sha256 hex of the zip itself.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import functools
import hashlib
import http.server
import ipaddress
import json
import os
import platform
import shutil
import ssl
import subprocess
import sys
import threading
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or ROOT / ".cache")
HOST, NAMESPACE, TYPE = "registry.terraform.io", "crossrepl", "crossrepl"
SOURCE = f"{HOST}/{NAMESPACE}/{TYPE}"
NAME = f"terraform-provider-{TYPE}"


@functools.cache
def cargo_target_dir() -> Path:
    """Where cargo puts its builds: $CROSSREPL_TARGET_DIR (the Makefile sets it), else what `cargo metadata` says
    (it honours CARGO_TARGET_DIR and build.target-dir in cargo config files), else <repo>/target."""
    if os.environ.get("CROSSREPL_TARGET_DIR"):
        return Path(os.environ["CROSSREPL_TARGET_DIR"])
    try:
        out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        return Path(json.loads(out)["target_directory"])
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        return ROOT / "target"


def log(msg: str) -> None:
    print(f"mirror: {msg}", file=sys.stderr, flush=True)


def cargo_version(cargo_toml: Path = ROOT / "Cargo.toml") -> str:
    data = tomllib.loads(cargo_toml.read_text())
    return data["workspace"]["package"]["version"]


def host_platform() -> str:
    os_name = sys.platform if sys.platform != "win32" else "windows"
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    return f"{os_name}_{arch}"


def hash_h1(zip_path: Path) -> str:
    """Go's golang.org/x/mod/sumdb/dirhash.Hash1 over the files in the zip (what Terraform calls h1:)."""
    lines = []
    with zipfile.ZipFile(zip_path) as z:
        for name in sorted(i.filename for i in z.infolist() if not i.is_dir()):
            lines.append(f"{hashlib.sha256(z.read(name)).hexdigest()}  {name}\n")
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


def hash_zh(zip_path: Path) -> str:
    return "zh:" + hashlib.sha256(zip_path.read_bytes()).hexdigest()


def make_zip(binary: Path, version: str, dest: Path, compress: bool = True) -> None:
    info = zipfile.ZipInfo(f"{NAME}_v{version}", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16  # regular file, executable
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(dest, "w") as z:
        z.writestr(info, binary.read_bytes())


def build(binary: Path, out: Path, version: str | None = None, plat: str | None = None,
          strip_debug: bool = False) -> dict:
    if not binary.is_file():
        raise SystemExit(f"mirror: provider binary {binary} not found (build it first)")
    if strip_debug:  # a debug build carries ~300 MB of DWARF that only slows packaging and every init
        out.mkdir(parents=True, exist_ok=True)
        stripped = out / f"{binary.name}.stripped"
        subprocess.run(["strip", "--strip-debug", "-o", str(stripped), str(binary)], check=True)
        binary = stripped
    version = version or cargo_version()
    plat = plat or host_platform()
    zip_name = f"{NAME}_{version}_{plat}.zip"
    release = out / "release"
    release.mkdir(parents=True, exist_ok=True)
    zip_path = release / zip_name
    make_zip(binary, version, zip_path)
    sums = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
                   for p in sorted(release.glob(f"{NAME}_{version}_*.zip")))
    (release / f"{NAME}_{version}_SHA256SUMS").write_text(sums)

    fs_dir = out / "filesystem-mirror" / HOST / NAMESPACE / TYPE
    fs_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(zip_path, fs_dir / zip_name)

    net_dir = out / "network-mirror" / HOST / NAMESPACE / TYPE
    net_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(zip_path, net_dir / zip_name)
    h1, zh = hash_h1(zip_path), hash_zh(zip_path)
    version_file = net_dir / f"{version}.json"
    archives = json.loads(version_file.read_text())["archives"] if version_file.exists() else {}
    archives[plat] = {"url": zip_name, "hashes": [h1, zh]}
    version_file.write_text(json.dumps({"archives": archives}, indent=2, sort_keys=True) + "\n")
    versions = {p.stem: {} for p in net_dir.glob("*.json") if p.name != "index.json"}
    (net_dir / "index.json").write_text(json.dumps({"versions": versions}, indent=2, sort_keys=True) + "\n")
    log(f"{SOURCE} {version} {plat}: {zip_path} ({zip_path.stat().st_size} bytes) {h1} {zh}")
    log(f"filesystem mirror: {out / 'filesystem-mirror'}; network mirror: {out / 'network-mirror'}")
    return {"version": version, "platform": plat, "zip": str(zip_path), "h1": h1, "zh": zh,
            "filesystem_mirror": str(out / "filesystem-mirror"), "network_mirror": str(out / "network-mirror")}


# ---- HTTPS -----------------------------------------------------------------------------------------------------

def ensure_tls(tls_dir: Path = CACHE_DIR / "mirror-tls") -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost (generated once, kept in the cache)."""
    ca_pem, cert_pem, key_pem = tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server-key.pem"
    if ca_pem.exists() and cert_pem.exists() and key_pem.exists():
        return ca_pem, cert_pem, key_pem
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crossrepl test-bed mirror CA (throwaway)")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    tls_dir.mkdir(parents=True, exist_ok=True)
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    key_pem.chmod(0o600)
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    log(f"generated throwaway CA {ca_pem} and server certificate for 127.0.0.1")
    return ca_pem, cert_pem, key_pem


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt: str, *args) -> None:
        if os.environ.get("MIRROR_ACCESS_LOG"):
            super().log_message(fmt, *args)


def start_server(directory: Path, port: int = 0, bind: str = "127.0.0.1", cert: Path | None = None,
                 key: Path | None = None, url_host: str | None = None) -> tuple[http.server.HTTPServer, str, Path | None]:
    """Serve `directory` (a network-mirror root) over HTTPS in a background thread: (server, url, ca_path).
    Without cert/key it uses the throwaway CA's certificate for 127.0.0.1 (then ca_path is that CA)."""
    if cert and key:
        ca_pem, cert_pem, key_pem = None, cert, key
    else:
        ca_pem, cert_pem, key_pem = ensure_tls()
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer((bind, port), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_pem, key_pem)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://{url_host or bind}:{server.server_address[1]}/", ca_pem


def serve(directory: Path, a: argparse.Namespace, config_name: str, config_for) -> None:
    """`serve` of this tool and of registry.py: serves `directory` over HTTPS as the `--port`, `--bind`, `--host`,
    `--cert` and `--key` options of `a` say, writes the CLI configuration `config_for(url)` returns (with a line to
    print) to .cache/mirror-tls/`config_name`, prints how to use it, and serves until Ctrl-C."""
    if bool(a.cert) != bool(a.key):
        raise SystemExit("--cert and --key go together")
    server, url, ca = start_server(directory, a.port, a.bind, Path(a.cert) if a.cert else None,
                                   Path(a.key) if a.key else None, a.host)
    text, line = config_for(url)
    cfg = CACHE_DIR / "mirror-tls" / config_name
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)
    trust = f"SSL_CERT_FILE={ca} " if ca else ""
    print(f"serving {directory} at {url}\n{line}CA certificate: {ca or '(your --cert)'}\n"
          f"CLI configuration: {cfg}\n"
          f"use it:  export {trust}TF_CLI_CONFIG_FILE={cfg}\nCtrl-C to stop", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


def cli_config(network_url: str | None = None, fs_dir: Path | None = None) -> str:
    """A CLI configuration that installs crossrepl only from the given mirror, and nothing else from anywhere."""
    if network_url:
        source = f'  network_mirror {{\n    url     = "{network_url}"\n    include = ["{HOST}/{NAMESPACE}/*"]\n  }}\n'
    elif fs_dir:
        source = f'  filesystem_mirror {{\n    path    = "{fs_dir}"\n    include = ["{HOST}/{NAMESPACE}/*"]\n  }}\n'
    else:
        raise ValueError("need a network mirror URL or a filesystem mirror directory")
    return ("provider_installation {\n" + source +
            f'  direct {{\n    exclude = ["{HOST}/{NAMESPACE}/*"]\n  }}\n}}\n')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="package a provider binary into release zips and mirrors")
    b.add_argument("binary", nargs="?", help=f"default: <cargo target dir>/release/{NAME}")
    b.add_argument("--out", default=str(ROOT / "dist"))
    b.add_argument("--version", help="default: [workspace.package] version in Cargo.toml")
    b.add_argument("--strip-debug", action="store_true", help="package a copy without debug info (test builds)")
    s = sub.add_parser("serve", help="serve a network mirror over HTTPS on 127.0.0.1")
    s.add_argument("--dir", default=str(ROOT / "dist"), help="a `build --out` dir, or a network-mirror dir")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--host", help="host name clients use in the URL (default: the --bind address)")
    s.add_argument("--cert", help="PEM certificate (chain) for --host; default: a throwaway CA's cert for 127.0.0.1")
    s.add_argument("--key", help="PEM private key of --cert")
    c = sub.add_parser("cli-config", help="write a CLI configuration file using a mirror")
    c.add_argument("--url")
    c.add_argument("--fs")
    c.add_argument("--out")
    a = ap.parse_args()
    if a.command == "build":
        binary = Path(a.binary) if a.binary else cargo_target_dir() / "release" / NAME
        print(json.dumps(build(binary, Path(a.out).resolve(), a.version, strip_debug=a.strip_debug), indent=2))
    elif a.command == "serve":
        directory = Path(a.dir)
        if (directory / "network-mirror").is_dir():
            directory = directory / "network-mirror"
        if not (directory / HOST).is_dir():
            raise SystemExit(f"mirror: {directory} holds no network mirror: run `make mirror` first")
        serve(directory, a, "serve.tfrc", lambda url: (cli_config(network_url=url), ""))
    elif a.command == "cli-config":
        text = cli_config(a.url, Path(a.fs).resolve() if a.fs else None)
        if a.out:
            Path(a.out).write_text(text)
        else:
            sys.stdout.write(text)


if __name__ == "__main__":
    main()
