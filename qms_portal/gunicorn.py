"""gunicorn settings the image runs with (Dockerfile: `gunicorn -c python:qms_portal.gunicorn`).

Threaded workers (gthread), one process per core, two threads each: our views are synchronous
and part of each request waits on PostgreSQL and Redis, so a second thread keeps a core busy
meanwhile, and unlike the plain sync worker gthread keeps client connections alive between
requests. More threads lose to contention for the interpreter lock on two cores. Measured
against plain `gunicorn --workers 2` by `make bench` (G7, tests/bench/bench_web.py).

Operators tune with WEB_CONCURRENCY (processes), WEB_THREADS (threads per process) and
WEB_ACCESS_LOG (a path, `-` for stdout, empty for none when a proxy in front logs already).
"""

import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
threads = int(os.environ.get("WEB_THREADS") or 2)
keepalive = 5
# Heartbeat files on tmpfs: a worker blocked on a slow disk is not mistaken for a hung one.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - only heartbeat files
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
errorlog = "-"
control_socket_disable = True
