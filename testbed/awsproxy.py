#!/usr/bin/env python3
"""An HTTP proxy between the provider and LocalStack that counts AWS calls and can inject faults.

    awsproxy.py --upstream http://127.0.0.1:4566 [--port N] [--fault-rate 0.2] [--faults KINDS] [--seed 1]
                [--stale S] [--stale-reads policy,versioning] [--versioning-delay S] [--refuse OP=...]
                [--stats FILE]

Point the provider's `endpoints { s3 = iam = sts = <proxy url> }` at it. Every request is classified as
`<service>:<Operation>` (from the SigV4 credential scope and the IAM/STS `Action` or the S3 method and
sub-resource) and timed, so a benchmark can report calls per operation and the critical-path depth (the longest
chain of calls each starting after the previous one ended). With a fault rate, that share of requests gets one
of: HTTP 500 InternalError, 503 SlowDown, 400 Throttling, a connection reset before forwarding, a reset after
forwarding (the call took effect but the answer was lost), or 0.3-1.5 s of extra latency. Which requests get
a fault depends only on the seed and the requests themselves (see FaultPlan), not on timing.

`--faults` (library: `faults=`) restricts the kinds drawn from, as a comma-separated list or an iterable of:
`500`, `slowdown` (503), `throttling` (400), `reset` (both resets), `reset-before`, `reset-after`, `latency`,
or `all` (the default: every kind, uniformly, as before). E.g. `--fault-rate 1 --faults latency` delays every
request. A client that goes away mid-request (a killed provider) is not an error: its connection is dropped
quietly, without a traceback.

Eventual consistency where S3 has it (testbed/consistency.py): `--stale SECONDS` answers bucket-policy and
versioning reads with what they returned before the last write for that long after it; `--versioning-delay SECONDS`
refuses PutBucketReplication with S3's documented versioning refusals for that long after versioning was enabled;
`--refuse OP=STATUS:CODE:MESSAGE` answers every request of an operation with a final error. Refused calls and stale
answers are recorded with the fault `propagation`, `refused` or `stale`.

Used as a library by the benchmarks and the reliability tests:
`start(upstream, fault_rate, seed, faults=None, consistency=None)`.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import http.server
import json
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

from consistency import (DESTINATION_VERSIONING, SOURCE_VERSIONING, WRITES, Answer, Consistency, parse_refusal,
                         read_path)

S3_SUBRESOURCES = {
    "versioning": "BucketVersioning", "policy": "BucketPolicy", "replication": "BucketReplication",
    "tagging": "BucketTagging", "location": "BucketLocation", "acl": "BucketAcl", "encryption": "BucketEncryption",
    "ownershipControls": "BucketOwnershipControls", "object-lock": "ObjectLockConfiguration",
}
METHOD_VERB = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}
FAULTS = ("500", "503", "throttle", "reset-before", "reset-after", "latency")
FAULT_ALIASES = {
    "all": FAULTS, "500": ("500",), "internal": ("500",), "503": ("503",), "slowdown": ("503",),
    "throttle": ("throttle",), "throttling": ("throttle",), "reset": ("reset-before", "reset-after"),
    "reset-before": ("reset-before",), "reset-after": ("reset-after",), "latency": ("latency",),
}
# The client went away (a provider killed or timed out mid-request): nothing to report.
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def fault_kinds(faults=None) -> tuple[str, ...]:
    """The fault kinds named by `faults` (None, "all", "500,latency", or an iterable of names), in FAULTS order.

    The order is fixed so that a seed draws the same faults whatever order the names were given in."""
    if faults is None:
        return FAULTS
    names = faults.split(",") if isinstance(faults, str) else list(faults)
    chosen: set[str] = set()
    for name in (n.strip().lower() for n in names):
        if not name:
            continue
        if name not in FAULT_ALIASES:
            raise ValueError(f"unknown fault kind {name!r}; known: {', '.join(FAULT_ALIASES)}")
        chosen.update(FAULT_ALIASES[name])
    if not chosen:
        raise ValueError("no fault kind given")
    return tuple(k for k in FAULTS if k in chosen)


class UpstreamError(RuntimeError):
    """The upstream (LocalStack) failed; reported with a traceback, unlike a client that went away."""


@dataclass
class Call:
    operation: str
    account: str
    start: float
    end: float
    status: int
    fault: str | None
    target: str = ""  # path and query
    body: bytes = b""  # the request body

    @property
    def reached_upstream(self) -> bool:
        return self.fault in (None, "latency", "reset-after")


@dataclass
class Stats:
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()

    def counts(self) -> Counter:
        """Calls that reached the upstream (and so took effect), by operation."""
        with self.lock:
            return Counter(c.operation for c in self.calls if c.reached_upstream)

    def total(self) -> int:
        return sum(self.counts().values())

    def faults(self) -> Counter:
        with self.lock:
            return Counter(c.fault for c in self.calls if c.fault)

    def critical_path(self) -> int:
        """Length of the longest chain of calls where each starts after the previous one ended."""
        with self.lock:
            calls = sorted((c for c in self.calls if c.reached_upstream), key=lambda c: c.start)
        depth: list[int] = []
        for i, c in enumerate(calls):
            best = max((depth[j] for j in range(i) if calls[j].end <= c.start), default=0)
            depth.append(best + 1)
        return max(depth, default=0)

    def summary(self) -> dict:
        return {"total": self.total(), "critical_path": self.critical_path(),
                "by_operation": dict(sorted(self.counts().items())), "faults": dict(self.faults())}


def classify(method: str, path: str, query: str, headers, body: bytes) -> tuple[str, str]:
    auth = headers.get("Authorization", "")
    m = re.search(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/", auth)
    account, service = (m.group(1), m.group(2)) if m else ("?", "?")
    if target := headers.get("X-Amz-Target"):
        return f"{service}:{target.rsplit('.', 1)[-1]}", account
    if service in ("iam", "sts") or body.startswith(b"Action="):
        action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", ["?"])[0]
        return f"{service}:{action}", account
    if path.startswith("/v20180820/jobs"):  # S3 Control, signed as s3: the Batch Operations jobs
        return ("s3control:CreateJob" if method == "POST" else "s3control:DescribeJob"), account
    keys = [k.split("=", 1)[0] for k in query.split("&") if k]
    sub = next((S3_SUBRESOURCES[k] for k in keys if k in S3_SUBRESOURCES), None)
    verb = METHOD_VERB.get(method, method)
    parts = [p for p in path.split("/") if p]
    if sub:
        return f"s3:{verb}{sub}", account
    if not parts:
        return ("s3:ListBuckets" if method == "GET" else f"s3:{verb}Buckets"), account
    if len(parts) == 1:
        return f"s3:{verb}Bucket", account
    return f"s3:{verb}Object", account


def error_body(service: str, code: str, message: str) -> bytes:
    if service == "s3":
        return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    return (f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>fault-injected</RequestId></ErrorResponse>").encode()


class FaultPlan:
    """Which fault, if any, each request gets: a pure function of the seed, the request and how many identical
    requests came before it. The faults a request meets therefore do not depend on how concurrent requests
    happen to interleave, so one seed gives the same faults, and the same verdict, on any machine.

    A request is identified by its operation, account, method, path, query and body (the body is left out when
    it is streamed with per-chunk signatures, which carry the time)."""

    def __init__(self, seed, fault_rate: float, kinds: tuple[str, ...]):
        self.seed = seed if seed is not None else random.randrange(2**63)  # no seed: different faults each run
        self.fault_rate, self.kinds = fault_rate, kinds
        self.seen: Counter = Counter()
        self.lock = threading.Lock()

    def draw(self, operation: str, account: str, method: str, target: str, headers, body: bytes) \
            -> tuple[str | None, float]:
        """(fault kind or None, extra latency in seconds) for this request."""
        streamed = (headers.get("x-amz-content-sha256") or "").startswith("STREAMING")
        identity = hashlib.sha256(f"{operation}|{account}|{method}|{target}|".encode()
                                  + (b"" if streamed else body)).hexdigest()
        with self.lock:
            nth = self.seen[identity]
            self.seen[identity] += 1
        rng = random.Random(f"{self.seed}/{identity}/{nth}")
        fault = rng.choice(self.kinds) if rng.random() < self.fault_rate else None
        return fault, (0.3 + rng.random() * 1.2 if fault == "latency" else 0.0)


INJECTED = {"500": (500, "InternalError", "injected"), "503": (503, "SlowDown", "Please reduce your request rate."),
            "throttle": (400, "Throttling", "Rate exceeded")}
# Headers of a write that a read sent in its place must not carry.
BODY_HEADERS = ("content-length", "content-md5", "content-type", "x-amz-content-sha256", "x-amz-checksum-")


def make_handler(upstream: str, stats: Stats, plan: FaultPlan, consistency: Consistency):
    up = urllib.parse.urlsplit(upstream)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            operation, account = classify(self.command, path, query, self.headers, body)
            start = time.monotonic()
            call = Call(operation, account, start, start, 0, None, self.path, body)
            if self._consistent(call, body):
                return
            call.fault, delay = plan.draw(operation, account, self.command, self.path, self.headers, body)
            if call.fault in INJECTED:
                self._error(call, *INJECTED[call.fault])
            elif call.fault == "reset-before":
                self._reset(call)
            else:
                time.sleep(delay)
                self._forward(call, body)

        def _consistent(self, call: Call, body: bytes) -> bool:
            """Answers as an eventually consistent S3 would (a refusal or a stale read); False: go on."""
            if refused := consistency.refusal(call.operation, self.path, body):
                call.fault = "propagation" if refused in (SOURCE_VERSIONING, DESTINATION_VERSIONING) else "refused"
                self._error(call, *refused)
            elif stale := consistency.stale_answer(call.operation, self.path):
                call.fault = "stale"
                self._send(call, stale)
            return call.fault is not None

        def _forward(self, call: Call, body: bytes) -> None:
            before = None
            if consistency.wants_before(call.operation):  # what a stale read will answer: S3 just before the write
                kind = WRITES[call.operation]
                headers = {k: v for k, v in self._headers().items() if not k.lower().startswith(BODY_HEADERS)}
                before = Answer(*self._upstream("GET", read_path(self.path, kind), headers, b""))
            status, headers, data = self._upstream(self.command, self.path, self._headers(), body)
            if 200 <= status < 300:
                consistency.written(call.operation, self.path, body, before)
            if call.fault == "reset-after":
                self._reset(call)
            else:
                self._send(call, Answer(status, headers, data))

        def _headers(self) -> dict:
            return {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}

        def _upstream(self, method: str, target: str, headers: dict, body: bytes):
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.getheaders(), resp.read()
            except (OSError, http.client.HTTPException) as e:
                raise UpstreamError(f"{method} {target}: upstream {upstream} failed: {e!r}") from e
            finally:
                conn.close()

        def _error(self, call: Call, status: int, code: str, message: str) -> None:
            payload = error_body(call.operation.split(":", 1)[0], code, message)
            self._send(call, Answer(status, [("Content-Type", "application/xml")], payload))

        def _send(self, call: Call, answer: Answer) -> None:
            # Recorded before the answer goes out, so a client that got its answer finds the call in the stats.
            call.status, call.end = answer.status, time.monotonic()
            stats.add(call)
            try:
                self.send_response(answer.status)
                for k, v in answer.headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)
                self.wfile.flush()
            except CLIENT_GONE:  # a forwarded call took effect upstream, so it still counts; the answer is lost
                self.close_connection = True

        def _reset(self, call: Call) -> None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            call.end = time.monotonic()
            stats.add(call)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], CLIENT_GONE):  # the client went away: not worth a traceback
            return
        super().handle_error(request, client_address)


class Proxy:
    def __init__(self, upstream: str, fault_rate: float = 0.0, seed: int | None = None, port: int = 0,
                 faults=None, consistency: Consistency | None = None):
        self.stats = Stats()
        self.kinds = fault_kinds(faults)
        self.consistency = consistency or Consistency()
        handler = make_handler(upstream, self.stats, FaultPlan(seed, fault_rate, self.kinds), self.consistency)
        self.server = Server(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "Proxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start(upstream: str, fault_rate: float = 0.0, seed: int | None = None, faults=None,
          consistency: Consistency | None = None) -> Proxy:
    return Proxy(upstream, fault_rate, seed, faults=faults, consistency=consistency).start()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default="all",
                    help="fault kinds, comma-separated: 500, slowdown, throttling, reset, reset-before, reset-after, "
                         "latency, all (default)")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--stale", type=float, default=0.0, metavar="SECONDS",
                    help="answer bucket-policy and versioning reads as before the last write for this long after it")
    ap.add_argument("--stale-reads", default="policy,versioning", help="which reads go stale: policy, versioning")
    ap.add_argument("--versioning-delay", type=float, default=0.0, metavar="SECONDS",
                    help="refuse PutBucketReplication as S3 does for this long after versioning was enabled")
    ap.add_argument("--refuse", action="append", default=[], metavar="OP=STATUS:CODE:MESSAGE",
                    help="answer every request of OP with this error, e.g. "
                         "'s3:PutBucketReplication=403:AccessDenied:Access Denied'")
    ap.add_argument("--stats", help="write the call summary as JSON here on Ctrl-C")
    args = ap.parse_args()
    try:
        consistency = Consistency(args.stale, frozenset(args.stale_reads.split(",")), args.versioning_delay,
                                  dict(parse_refusal(r) for r in args.refuse))
        proxy = Proxy(args.upstream, args.fault_rate, args.seed, args.port, faults=args.faults,
                      consistency=consistency)
    except ValueError as e:
        ap.error(str(e))
    print(proxy.url, flush=True)
    try:
        proxy.server.serve_forever()
    except KeyboardInterrupt:
        pass
    if args.stats:
        with open(args.stats, "w") as f:
            json.dump(proxy.stats.summary(), f, indent=2)


if __name__ == "__main__":
    main()
