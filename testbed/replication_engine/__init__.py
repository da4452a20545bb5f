"""A replication engine for LocalStack: S3 cross-account replication as AWS performs it, with every request the
replication service makes authorized by Principal Mapper. Loaded by testbed/localstack.py in LocalStack's own
process; see docs/localstack.md.

    engine = replication_engine.start(delay=0.2)   # before LocalStack builds its S3 dispatch table
    replication_engine.install_routes(ROUTER, engine)
"""

from __future__ import annotations

import time

from .engine import Engine

ROUTE = "/_crossrepl/replication"
ORGANIZATIONS_ROUTE = "/_crossrepl/organizations"
DELAY_ROUTE = "/_crossrepl/replication/delay"


def start(delay: float) -> Engine:
    from . import hooks

    engine = Engine(delay=delay)
    hooks.install(engine)
    return engine


def install_routes(router, engine: Engine) -> None:
    """Also the S3 Control job API of batch.py (S3 Batch Replication)."""
    from . import batch

    jobs = batch.Jobs(engine)
    engine.batch_jobs = jobs
    batch.install_routes(router, jobs)
    _install_journal_routes(router, engine)


def _install_journal_routes(router, engine: Engine) -> None:
    """`GET /_crossrepl/replication[?since=N][&wait=SECONDS]`: the journal (entries with seq >= since), after
    waiting up to `wait` seconds for the queue to drain; `idle` says whether it did. `POST /_crossrepl/organizations`:
    declares organization members. `POST /_crossrepl/replication/delay {"bucket": name, "seconds": N}`: writes on
    that source bucket replicate N seconds late (a status that stays PENDING past a check's bound)."""

    def status(request, **_kwargs):
        args = request.args
        wait = float(args.get("wait") or 0)
        t = time.monotonic()
        idle = engine.wait_idle(wait) if wait > 0 else not engine.snapshot()["queued"]
        out = engine.snapshot(int(args.get("since") or 0))
        out.update(idle=idle, waited=round(time.monotonic() - t, 3))
        return out

    router.add(ROUTE, endpoint=status, methods=["GET"])

    def organizations(request, **_kwargs):
        """`POST {"o-...": [account, ...]}`: those accounts are members of that organization (until reset)."""
        for organization_id, accounts in (request.get_json(force=True) or {}).items():
            engine.join_organization(organization_id, [str(a) for a in accounts])
        return {"organizations": dict(engine.organizations)}

    router.add(ORGANIZATIONS_ROUTE, endpoint=organizations, methods=["POST"])

    def delay(request, **_kwargs):
        body = request.get_json(force=True) or {}
        engine.delay_bucket(str(body["bucket"]), float(body["seconds"]))
        return {"delays": dict(engine.bucket_delays)}

    router.add(DELAY_ROUTE, endpoint=delay, methods=["POST"])
