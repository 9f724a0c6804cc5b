"""gunicorn settings the image runs with (Dockerfile: `gunicorn -c python:qms_portal.gunicorn`).

The gthread worker, one process per core, one thread each: unlike the plain sync worker it
keeps client connections alive between requests. A second thread per process, meant to keep
a core busy while a request waits on PostgreSQL, lost on two cores to contention for the
interpreter lock, on the API (G7: 0.88x against 0.99x) and on the public form (G1: 0.34x
against 0.39x), both measured by `make bench` (tests/bench/bench_web.py) at size M.

Operators tune with WEB_CONCURRENCY (processes), WEB_THREADS (threads per process) and
WEB_ACCESS_LOG (a path, `-` for stdout, empty for none when a proxy in front logs already).
"""

import os
import shutil
import tempfile

from apps.core.log_filters import RedactingGunicornLogger

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
threads = int(os.environ.get("WEB_THREADS") or 1)
keepalive = 5
# Heartbeat files on tmpfs: a worker blocked on a slow disk is not mistaken for a hung one.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - only heartbeat files
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
# Each line is JSON with its own UTC `time`, the request id and these fields apart (#23): the
# message keeps the familiar shape, less the local timestamp and the two ever-empty columns.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
errorlog = "-"
# JSON lines in UTC; the access log's request lines hold tracking, survey and reset paths: masked
# as in our own logs.
logger_class = RedactingGunicornLogger
control_socket_disable = True


def on_starting(server) -> None:
    """Give the worker processes one metrics directory, empty at every start (apps/core/metrics.py):
    each process writes its request counts there and a scrape of any of them sums them all. An
    operator's own PROMETHEUS_MULTIPROC_DIR is kept (then they must empty it before a start)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="qms-prometheus-")
        server.qms_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_exit(server) -> None:
    made = getattr(server, "qms_metrics_dir", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
