"""Single-lead intake through the real server: POST /api/leads under `leadflow serve`.

    python bench/intake_api.py --database sqlite --seconds 30 --clients 16
    python bench/intake_api.py --database postgres --workers 4
    python bench/intake_api.py --keep --profile 200     # CPU per request by part, in process

A fresh database gets the demo company (teams, users, sources, routing, the starter lead
definition signed and active; `leadflow demo --leads N`), a marketing token, and then `wrk`
(a C load generator: it costs the shared 2 cores least) runs 16 connections, each POSTing a
new person (distinct e-mail, an Idempotency-Key, titles and sizes in a fixed mix) for N
seconds, after a warm-up. Every request does the full path: auth, idempotency claim,
validation, de-duplication lookup, create_lead (routing, history row, outbox event), fit
scoring and the MQL check, the answer.

Reports req/s, p50/p90/p99 latency, errors, queries per request (one request replayed through
the test client), leads stored (checked against the 201s), the CPU time leadflow's processes
and wrk used per request, and the machine load (`uptime`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/lf_intake_bench"
REFUSED = ("test", "test_test", "postgres", "template0", "template1")
PASSWORD = "bench-pass-1"

WRK_SCRIPT = textwrap.dedent(
    """
    -- A new person per request: e-mails distinct across threads and runs.
    local counter = 0
    local titles = {"VP Operations", "Marketing Manager", "Software Engineer", "CEO",
                    "Student", "Director of Sales", "Analyst"}
    local sizes = {12, 450, 80, 2500, 35}
    local thread_id = 0
    local threads = {}
    function setup(thread)
      thread:set("tid", #threads + 1)
      table.insert(threads, thread)
    end
    function init(args)
      run = args[1]
      wrk.method = "POST"
      wrk.headers["Content-Type"] = "application/json"
      wrk.headers["Authorization"] = "Bearer " .. args[2]
    end
    function request()
      counter = counter + 1
      local id = run .. "-" .. tid .. "-" .. counter
      wrk.headers["Idempotency-Key"] = id
      -- A mix of people: some fit the starter definition well (and get its MQL check).
      local title = titles[(counter %% #titles) + 1]
      local size = sizes[(counter %% #sizes) + 1]
      local body = '{"source": "%(source)s", "email": "p' .. id .. '@bench.example", ' ..
        '"first_name": "Pat", "last_name": "Bench' .. counter .. '", "company": "Bench Co", ' ..
        '"title": "' .. title .. '", "country": "DE", "employee_count": ' .. size .. '}'
      return wrk.format(nil, "/api/leads", nil, body)
    end
    """
)


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--dir", default=os.path.join(tempfile.gettempdir(), "leadflow-intake-bench")
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--demo-leads", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--keep", action="store_true", help="Reuse the database if set up.")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N",
        help="Instead of serving: N requests in process, CPU time by part of the path.",
    )
    return parser.parse_args()


def configure(args) -> dict:
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    env = {
        "LEADFLOW_DATA_DIR": str(work),
        "DJANGO_SETTINGS_MODULE": "leadflow.settings",
        "LEADFLOW_LOG_LEVEL": "WARNING",
    }
    if args.database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{work / 'intake-bench.sqlite3'}"
    else:
        if args.pg_url.rsplit("/", 1)[1] in REFUSED:
            raise SystemExit("refusing to use that database for a benchmark")
        env["DATABASE_URL"] = args.pg_url
    os.environ.update(env)
    return env


def fresh(args) -> None:
    if args.database == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.dir}/intake-bench.sqlite3{suffix}").unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql

    name = args.pg_url.rsplit("/", 1)[1]
    with psycopg.connect(args.pg_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare(args) -> tuple[str, str]:
    """Migrate, load the demo company; a marketing token and a source name."""
    import django

    django.setup()
    from django.core.management import call_command

    from leadflow.accounts.models import ApiToken, User
    from leadflow.leads.models import LeadDefinition, Source

    call_command("migrate", verbosity=0)
    if not Source.objects.exists():
        call_command("demo", leads=args.demo_leads, months=3, password=PASSWORD, verbosity=0)
    assert LeadDefinition.active() is not None, "the demo signs the starter definition"
    _, token = ApiToken.issue(User.objects.get(username="marketing"), name="bench")
    return token, Source.objects.order_by("name").first().name


def queries_per_request(token: str, source: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "probe"})
    body = {"source": source, "email": "probe@bench.example", "title": "VP Operations"}
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/api/leads", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return len(ctx.captured_queries)


PARTS = [
    ("leadflow.scoring.incremental", "meeting_mql", "on commit: MQL check (scoring)"),
    ("leadflow.leads.actions", "create_lead", "create_lead (routing, fit, rows, outbox)"),
    ("leadflow.api.leads", "_detail", "answer: hand-off + available transitions"),
    ("leadflow.api.leads", "_fresh", "answer: the lead re-read"),
    ("leadflow.intake.idempotency", "_known", "idempotency: key lookup"),
    ("leadflow.intake.leads", "validate", "intake: validation + source lookup"),
    ("leadflow.intake.leads", "_known_leads", "intake: de-duplication lookup"),
]


def profile(token: str, source: str, n: int) -> None:
    """CPU time per request by part, each part's function wrapped with a process-time clock
    (shares matter more than totals on a shared machine)."""
    import functools
    import importlib
    from collections import Counter

    from django.test import Client

    from leadflow.accounts.models import ApiToken

    spent: Counter = Counter()

    def clocked(function, label):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - started

        return wrapper

    for module, name, label in PARTS:
        module = importlib.import_module(module)
        setattr(module, name, clocked(getattr(module, name), label))
    authenticate = ApiToken.authenticate.__func__
    ApiToken.authenticate = classmethod(clocked(authenticate, "token authentication"))
    client = Client(headers={"Authorization": f"Bearer {token}"})

    def post(i: int) -> None:
        body = {"source": source, "email": f"prof{time.time()}-{i}@bench.example",
                "title": ("VP Operations", "Analyst")[i % 2], "employee_count": 450}
        response = client.post("/api/leads", body, content_type="application/json",
                               headers={"Idempotency-Key": f"prof-{time.time()}-{i}"})
        assert response.status_code == 201, response.content

    for i in range(10):
        post(i)
    spent.clear()
    started = time.process_time()
    for i in range(n):
        post(i)
    total = (time.process_time() - started) * 1000 / n
    print(f"CPU per request: {total:.2f} ms (in process, {n} requests)")
    for label, seconds in spent.most_common():
        ms = seconds * 1000 / n
        print(f"{ms:7.2f} ms {ms / total:6.1%}  {label}")


def serve(args, env) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "leadflow", "serve", "--bind", f"127.0.0.1:{args.port}",
        "--workers", str(args.workers), "--threads", str(args.threads),
    ]
    server = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", args.port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("leadflow serve did not start")


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) used so far by the gunicorn master and its workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [server.pid]
    for task in Path(f"/proc/{server.pid}/task").iterdir():
        pids += [int(p) for p in (task / "children").read_text().split()]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def wrk(args, token: str, source: str, seconds: int, run: str) -> str:
    script = Path(args.dir) / "intake.lua"
    script.write_text(WRK_SCRIPT % {"source": source})
    command = [
        "wrk", "-t", "2", "-c", str(args.clients), "-d", f"{seconds}s", "--latency",
        "--timeout", "30s",
        "-s", str(script), f"http://127.0.0.1:{args.port}", "--", run, token,
    ]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def parse(output: str) -> dict:
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    found = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for pct in ("50", "90", "99"):
        found[f"p{pct}_ms"] = ms(re.search(rf"\s{pct}%\s+(\S+)", output).group(1))
    found["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    found["non_2xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: (.*)", output)
    found["socket_errors"] = errors.group(1) if errors else "none"
    return found


def main() -> None:
    args = arguments()
    env = configure(args)
    if not args.keep:
        fresh(args)
    token, source = prepare(args)
    from django.db import connection

    from leadflow.leads.models import Lead, OutboxEvent

    if args.profile:
        profile(token, source, args.profile)
        return
    queries = queries_per_request(token, source)
    vendor = connection.vendor
    connection.close()
    server = serve(args, env)
    try:
        wrk(args, token, source, args.warmup, f"w{int(time.time())}")
        before = Lead.objects.count()
        events_before = OutboxEvent.objects.count()
        connection.close()
        load_before = os.getloadavg()
        cpu_before = server_cpu_seconds(server)
        wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        output = wrk(args, token, source, args.seconds, f"r{int(time.time())}")
        wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = server_cpu_seconds(server) - cpu_before
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = parse(output)
    stored = Lead.objects.count() - before
    result.update(
        database=vendor,
        workers=args.workers,
        threads=args.threads,
        clients=args.clients,
        seconds=args.seconds,
        queries_per_request=queries,
        # Where the shared CPUs went: leadflow's processes and the load generator, per request.
        server_cpu_ms_per_request=round(server_cpu * 1000 / max(result["requests"], 1), 2),
        wrk_cpu_ms_per_request=round(
            (wrk_after.ru_utime + wrk_after.ru_stime - wrk_before.ru_utime - wrk_before.ru_stime)
            * 1000 / max(result["requests"], 1), 3
        ),
        leads_stored=stored,
        outbox_events=OutboxEvent.objects.count() - events_before,
        load_before=[round(x, 2) for x in load_before],
        load_after=[round(x, 2) for x in load_after],
        uptime=subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    )
    print(output)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
