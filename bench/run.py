"""./pms bench -- load through the gateway with wrk, with same-run
baselines (nginx alone, nginx -> minimal libfcgi, pgbench on the same
cluster) so every figure is also a ratio, plus memory, CPU per request and
start-up cost of our daemons.  Writes a Markdown table to stdout and JSON
to .run/bench/<time>/results.json.

Scale: with PMS_BENCH_PATIENTS above 10,000 the read scenarios run first
at 16 connections on a table of about 10,000 patients, then the table is
filled to PMS_BENCH_PATIENTS and everything runs; the report's scale table
puts the two side by side.

Settings: PMS_BENCH_PATIENTS (1000000), PMS_BENCH_SECONDS (10),
PMS_BENCH_REPS (3, medians reported), PMS_BENCH_CONNS ("1,16,64"),
PMS_BENCH_SCENARIOS (all), PMS_BENCH_NGINX_PORT (4104),
PMS_BENCH_FCGI_PORT (4105)."""

import json
import os
import platform
import re
import shlex
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from pmstest import ENV, SRC, ctl, tree  # noqa: E402  (the one helper module)

BENCH = os.path.join(SRC, "bench")


RUN = ENV["PMS_RUN"]
SECONDS = int(os.environ.get("PMS_BENCH_SECONDS", "10"))
REPS = int(os.environ.get("PMS_BENCH_REPS", "3"))
EXTRAS = os.environ.get("PMS_BENCH_EXTRAS", "1") != "0"   # start-up, billing, events
EVENTS = int(os.environ.get("PMS_BENCH_EVENTS", "2000"))   # outbox rows for the event rates
PATIENTS = int(os.environ.get("PMS_BENCH_PATIENTS", "1000000"))  # seeded rows (not via the API)
CONNS = [int(c) for c in os.environ.get("PMS_BENCH_CONNS", "1,16,64").split(",")]
NGINX_PORT = int(os.environ.get("PMS_BENCH_NGINX_PORT", "4104"))
FCGI_PORT = int(os.environ.get("PMS_BENCH_FCGI_PORT", "4105"))
HTTP = "http://127.0.0.1:%s" % ENV["PMS_HTTP_PORT"]
OUT = os.path.join(RUN, "bench", time.strftime("%Y%m%dT%H%M%S"))
OUR_PROGRAMS = ["nginx", "auth", "patient", "billing", "relay", "analytics"]

SCENARIOS = [
    # name, lua script, url base, ceiling
    ("nginx-static", None, "http://127.0.0.1:%d/static" % NGINX_PORT, None),
    ("nginx-fcgi-hello", None, "http://127.0.0.1:%d/fcgi" % NGINX_PORT, None),
    ("get-by-id", "get_by_id.lua", HTTP, "nginx-fcgi-hello"),
    ("list-first", "paths.lua", HTTP, "nginx-fcgi-hello"),
    ("list-offset", "paths.lua", HTTP, "nginx-fcgi-hello"),
    ("list-deep", "paths.lua", HTTP, "nginx-fcgi-hello"),
    ("search-name", "paths.lua", HTTP, "nginx-fcgi-hello"),
    ("search-email", "paths.lua", HTTP, "nginx-fcgi-hello"),
    # FHIR: the same reads in the other representation, each beside its
    # JSON API scenario (the issue asks for at least 80% of it)
    ("fhir-read", "paths.lua", HTTP, "get-by-id"),
    ("fhir-search-name", "paths.lua", HTTP, "search-name"),
    ("fhir-search-email", "paths.lua", HTTP, "search-email"),
    ("create", "create.lua", HTTP, "pgbench-insert"),
    ("update", "update.lua", HTTP, "pgbench-insert"),
    ("delete", "delete.lua", HTTP, "pgbench-insert"),
    ("mix-80-20", "mix.lua", HTTP, "nginx-fcgi-hello"),
]
# The scenarios of the scale table, and the table size they start at.
READS = ["nginx-fcgi-hello", "get-by-id", "list-first", "list-offset",
         "list-deep", "search-name", "search-email"]
SMALL = 10000
SEED_SESSIONS = max(2, os.cpu_count() or 2)
SCALE_CONNS = 16 if 16 in CONNS else CONNS[-1]


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True,
                          text=True, **kw).stdout


def psql(sql, db="patients", user="pms"):
    return sh("psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-h",
              ENV["PMS_PG_SOCK"], "-p", ENV["PMS_PG_PORT"], "-U", user, db,
              "-c", sql)


# ---------------------------------------------------------------- processes

def program_pids():
    """Process trees by tier: our daemons, and for CPU per request also
    Kafka and PostgreSQL (every backend, so pgbench's too)."""
    pids = {}
    for name in OUR_PROGRAMS + ["kafka"]:
        out = ctl("pid", name).stdout.strip()
        if out.isdigit() and out != "0":
            pids[name] = tree(int(out))
    try:
        with open(os.path.join(os.path.dirname(ENV["PMS_PG_SOCK"]), "data",
                               "postmaster.pid")) as f:
            pids["postgresql"] = tree(int(f.readline()))
    except (OSError, ValueError, KeyError):
        pass
    return pids


def rss_kb(pids):
    """Proportional set size summed over a process tree: shared pages
    (libraries, the pre-fork master's memory) are counted once overall,
    not once per worker as plain RSS would."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                m = re.search(r"^Pss:\s+(\d+)", f.read(), re.M)
                total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def cpu_s(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / tick


def snapshot():
    pids = program_pids()
    return {n: {"rss_kb": rss_kb(p), "cpu_s": cpu_s(p), "procs": len(p)}
            for n, p in pids.items()}


# ---------------------------------------------------------------- setup

def token():
    if not ENV.get("PMS_KEYCLOAK_PORT"):
        return ""
    return sh(os.path.join(SRC, "pms"), "token").strip()


# Seeded names: given and family names from several languages, with an
# ASCII form for the e-mail address (addresses are ASCII by the API's rule).
GIVEN = [("Ada", "ada"), ("Zoë", "zoe"), ("José", "jose"), ("Mei", "mei"),
         ("Олег", "oleg"), ("Aisha", "aisha"), ("Søren", "soren"), ("Ngozi", "ngozi"),
         ("Hiroshi", "hiroshi"), ("Łucja", "lucja"), ("Fatima", "fatima"),
         ("Björn", "bjorn"), ("Priya", "priya"), ("Chloé", "chloe"), ("Tomás", "tomas"),
         ("Αλέξης", "alexis"), ("Yusuf", "yusuf"), ("Ingrid", "ingrid"),
         ("Kwame", "kwame"), ("Анна", "anna"), ("Liam", "liam"), ("Nour", "nour"),
         ("Matteo", "matteo"), ("Siobhán", "siobhan"), ("Dmitri", "dmitri"),
         ("Amara", "amara"), ("Jürgen", "jurgen"), ("Camille", "camille"),
         ("Rahul", "rahul"), ("Elif", "elif"), ("Oskar", "oskar")]
FAMILY = [("Lovelace", "lovelace"), ("García", "garcia"), ("Müller", "muller"),
          ("Nakamura", "nakamura"), ("Ivanova", "ivanova"), ("O'Brien", "obrien"),
          ("Nguyễn", "nguyen"), ("Kowalski", "kowalski"), ("Okafor", "okafor"),
          ("Johansson", "johansson"), ("Смирнов", "smirnov"), ("Rossi", "rossi"),
          ("Papadopoulos", "papadopoulos"), ("Haddad", "haddad"), ("Sørensen", "sorensen"),
          ("Dubois", "dubois"), ("Yılmaz", "yilmaz"), ("Kim", "kim"), ("Patel", "patel"),
          ("van der Berg", "vanderberg"), ("Ó Súilleabháin", "osuilleabhain"),
          ("Wiśniewska", "wisniewska"), ("Mensah", "mensah"), ("Fernández", "fernandez"),
          ("Novák", "novak"), ("Chen", "chen"), ("Schröder", "schroder"),
          ("Al-Farsi", "alfarsi"), ("Lindqvist", "lindqvist"), ("Costa", "costa"),
          ("Horváth", "horvath"), ("Tanaka", "tanaka"), ("Eriksen", "eriksen"),
          ("Mbeki", "mbeki"), ("Petrović", "petrovic"), ("Dupont", "dupont"),
          ("Gonçalves", "goncalves")]
DOMAINS = ["example.com", "mail.example.org", "clinic.example.net", "example.co.uk"]


def sql_array(words):
    return "ARRAY[%s]" % ",".join("'%s'" % w.replace("'", "''") for w in words)


def seed(n):
    """Fills the table to n seeded patients in one INSERT ... SELECT (no API),
    with varied names (31 x 37 given/family pairs, non-ASCII among them),
    unique addresses and spread dates.  Returns the path of a file of up to
    10,000 of their ids (for get/update), how many were seeded, and the
    seconds it took."""
    t0 = time.time()
    have = int(psql("SELECT count(*) FROM patient WHERE email LIKE '%.seed-%'"))
    if have < n:
        g = "(1 + g %% %d)" % len(GIVEN)
        f = "(1 + (g / %d) %% %d)" % (len(GIVEN), len(FAMILY))
        insert = ("INSERT INTO patient (id, name, email, address, date_of_birth,"
             " registered_date)"
             " SELECT md5('pms-bench-' || g)::uuid,"
             " (%s)[%s] || ' ' || (%s)[%s],"
             " (%s)[%s] || '.' || (%s)[%s] || '.seed-' || g || '@' || (%s)[1 + g %% %d],"
             " (g %% 997 + 1) || ' ' || (%s)[%s] || ' Street, Unit ' || g,"
             " dob, dob + (g %% 997) * (date '2026-01-01' - dob) / 997"
             " FROM generate_series(@LO@, @HI@) g,"
             " LATERAL (SELECT date '1930-01-01' + (g %% 27000) * 7919 %% 27000 AS dob) d"
             " ON CONFLICT DO NOTHING"
             % (sql_array(w for w, _ in GIVEN), g, sql_array(w for w, _ in FAMILY), f,
                sql_array(a for _, a in GIVEN), g, sql_array(a for _, a in FAMILY), f,
                sql_array(DOMAINS), len(DOMAINS), sql_array(w for w, _ in FAMILY), f))
        # one session per core, each filling a share of the range; a larger
        # GIN pending list lets the trigram index take rows in big batches
        cuts = [1 + n * i // SEED_SESSIONS for i in range(SEED_SESSIONS + 1)]
        procs = [subprocess.Popen(
            ["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-h", ENV["PMS_PG_SOCK"],
             "-p", ENV["PMS_PG_PORT"], "-U", "pms", "patients", "-c",
             "SET gin_pending_list_limit = '64MB'; SET work_mem = '64MB'; "
             + insert.replace("@LO@", str(lo)).replace("@HI@", str(hi - 1))])
            for lo, hi in zip(cuts, cuts[1:])]
        if any(p.wait() != 0 for p in procs):
            raise RuntimeError("seeding failed")
        psql("ANALYZE patient")
    ids = psql("SELECT id FROM patient WHERE email LIKE '%.seed-%' ORDER BY id"
               " LIMIT 10000").split()
    path = os.path.join(OUT, "ids.txt")
    with open(path, "w") as f:
        f.write("\n".join(ids) + "\n")
    return path, max(have, n), time.time() - t0


def api_get(path, tok):
    """GET through the gateway; returns (status, headers, JSON body)."""
    req = urllib.request.Request(HTTP + path, headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.headers, json.load(r)


def link_rels(header):
    return {rel: url for url, rel in re.findall(r'<([^>]*)>; rel="([a-z]+)"', header or "")}


def cursor_of(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["cursor"][0]


def follow_rel(tok, path, rel, hops):
    """The cursors of up to hops rel links followed from path."""
    cursors = []
    _, headers, _ = api_get(path, tok)
    for _ in range(hops):
        url = link_rels(headers.get("Link")).get(rel)
        if url is None:
            break
        cursors.append(cursor_of(url))
        parts = urllib.parse.urlsplit(url)
        _, headers, _ = api_get(parts.path + "?" + parts.query, tok)
    return cursors


def deep_cursors(tok, hops=100):
    """Cursors deep in the list, reached as a client would: by following
    rel="next" from the first page (pages of 500) and rel="prev" back from
    the last one."""
    first = "/api/patients?size=500&total=none"
    _, headers, _ = api_get(first, tok)
    last = cursor_of(link_rels(headers.get("Link"))["last"])
    return (follow_rel(tok, first, "next", hops)
            + follow_rel(tok, first + "&cursor=" + last, "prev", hops // 4))


def write_lines(name, lines):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def prepare_inputs(ids, tok):
    """The request files of the read scenarios for the table as it is now."""
    q = urllib.parse.quote
    fragments = [w[1:5] for w, _ in FAMILY if len(w) >= 5] + [w[:4] for w, _ in GIVEN]
    emails = psql("SELECT email FROM patient WHERE email LIKE '%.seed-%'"
                  " ORDER BY id LIMIT 2000").split()
    return {
        "ids": ids,
        "list-first": write_lines("list-first.txt", ["/api/patients?size=50"]),
        "list-offset": write_lines("list-offset.txt", [
            "/api/patients?size=50&page=%d" % p for p in range(1, 202)]),
        "list-deep": write_lines("list-deep.txt", [
            "/api/patients?size=50&cursor=" + c for c in deep_cursors(tok)]),
        "search-name": write_lines("search-name.txt", [
            "/api/patients?size=50&q=" + q(f) for f in fragments]),
        "search-email": write_lines("search-email.txt", [
            "/api/patients?email=" + q(e) for e in emails]),
        "fhir-read": write_lines("fhir-read.txt", [
            "/api/fhir/Patient/" + i for i in read_lines(ids)[:2000]]),
        "fhir-search-name": write_lines("fhir-search-name.txt", [
            "/api/fhir/Patient?_count=50&name=" + q(f) for f in fragments]),
        "fhir-search-email": write_lines("fhir-search-email.txt", [
            "/api/fhir/Patient?email=" + q(e) for e in emails]),
    }


def read_lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def delete_pool():
    """Patients the delete scenario removes, each once: enough for SECONDS
    at 5,000 deletes/s, inserted by SQL (a delete does not depend on how its
    row was made).  Returns the ids file and the email tag of the pool."""
    tag = "d-%d-" % time.time_ns()
    psql("INSERT INTO patient (id, name, email, address, date_of_birth,"
         " registered_date) SELECT gen_random_uuid(), 'Delete Bench ' || g,"
         " '%s' || g || '@bench.example.com', g || ' Load Street',"
         " date '1980-01-02', date '2020-01-02'"
         " FROM generate_series(1, %d) g" % (tag, 5000 * SECONDS))
    ids = psql("SELECT id FROM patient WHERE email LIKE '%s%%'" % tag).split()
    return write_lines("delete-ids.txt", ids), tag


def pool_left(tag):
    return int(psql("SELECT count(*) FROM patient WHERE email LIKE '%s%%'" % tag))


def pgbench_db():
    exists = sh("psql", "-X", "-qAt", "-h", ENV["PMS_PG_SOCK"], "-p",
                ENV["PMS_PG_PORT"], "-U", "postgres", "postgres", "-c",
                "SELECT 1 FROM pg_database WHERE datname = 'pms_bench'").strip()
    if not exists:
        sh("psql", "-X", "-q", "-h", ENV["PMS_PG_SOCK"], "-p", ENV["PMS_PG_PORT"],
           "-U", "postgres", "postgres", "-c",
           "CREATE DATABASE pms_bench OWNER pms")
        with open(os.path.join(SRC, "fcgi-patient", "sql",
                               "0001_create_patient.sql")) as f:
            psql(f.read(), db="pms_bench")
    psql("CREATE OR REPLACE FUNCTION pms_iso(timestamptz) RETURNS text"
         " LANGUAGE sql IMMUTABLE AS $$ SELECT to_char($1 AT TIME ZONE 'UTC',"
         " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') $$", db="pms_bench")
    psql("TRUNCATE patient", db="pms_bench")
    psql("INSERT INTO patient (id, name, email, address, date_of_birth,"
         " registered_date) SELECT md5('pms-bench-' || g)::uuid,"
         " 'Seed Patient ' || g, 'seed-' || g || '@bench.example.com',"
         " g || ' Bench Road', date '1950-01-01' + (g % 20000),"
         " date '2020-01-01' + (g % 1500) FROM generate_series(1, 10000) g",
         db="pms_bench")


def start_baselines():
    os.makedirs(os.path.join(OUT, "tmp"), exist_ok=True)
    build = ENV["PMS_BUILD"]
    sh("make", "-s", "-C", build, "bench/fcgi-hello")
    env = dict(os.environ, PMS_BENCH_DIR_RUN=OUT,
               PMS_BENCH_NGINX_PORT=str(NGINX_PORT),
               PMS_BENCH_FCGI_PORT=str(FCGI_PORT),
               PMS_NGINX_WORKERS=ENV["PMS_NGINX_WORKERS"],
               PMS_NGINX_USER_LINE="user www-data;" if os.geteuid() == 0 else "")
    conf = os.path.join(OUT, "nginx.conf")
    with open(os.path.join(BENCH, "nginx-baseline.conf.tmpl")) as f:
        text = f.read()
    for k in ("PMS_NGINX_WORKERS", "PMS_BENCH_DIR_RUN", "PMS_NGINX_USER_LINE",
              "PMS_BENCH_NGINX_PORT", "PMS_BENCH_FCGI_PORT"):
        text = text.replace("${%s}" % k, env[k])
    with open(conf, "w") as f:
        f.write(text)
    hello = subprocess.Popen(
        ["spawn-fcgi", "-n", "-a", "127.0.0.1", "-p", str(FCGI_PORT), "--",
         os.path.join(build, "bench", "fcgi-hello"), ENV["PMS_PATIENT_WORKERS"]],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nginx = subprocess.Popen(["nginx", "-c", conf, "-g", "daemon off;"],
                             stderr=subprocess.DEVNULL)
    wait_port(NGINX_PORT)
    wait_port(FCGI_PORT)
    return [hello, nginx]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return time.time()
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("port %d not ready" % port)


# ---------------------------------------------------------------- load

def wrk(name, script, url, conns, tok, inputs):
    threads = 1 if conns == 1 else 2
    env = dict(os.environ, PMS_BENCH_DIR=BENCH, PMS_BENCH_TOKEN=tok,
               PMS_BENCH_IDS=inputs["ids"], PMS_BENCH_THREADS=str(threads),
               PMS_BENCH_RUN="%s%d" % (name[:2], time.time_ns()))
    if name in inputs:
        env["PMS_BENCH_PATHS"] = inputs[name]
    if name == "delete":
        env["PMS_BENCH_IDS"], pool = delete_pool()
    args = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % SECONDS,
            "--timeout", "5s", "-s", os.path.join(BENCH, script or "static.lua"),
            url]
    before = snapshot()
    out = subprocess.run(args, capture_output=True, text=True, env=env).stdout
    after = snapshot()
    if name == "delete" and pool_left(pool) == 0:
        raise RuntimeError("delete used up its pool of ids before %d s" % SECONDS)
    m = re.search(r"PMS_BENCH_JSON (\{.*\})", out)
    if not m:
        raise RuntimeError("wrk gave no summary for %s:\n%s" % (name, out))
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["cpu_per_req_us"] = {
        n: round((after[n]["cpu_s"] - before[n]["cpu_s"]) / max(r["requests"], 1) * 1e6, 1)
        for n in after if n in before}
    return r


def pgbench(script, conns):
    threads = 1 if conns == 1 else 2
    out = sh("pgbench", "-n", "-h", ENV["PMS_PG_SOCK"], "-p", ENV["PMS_PG_PORT"],
             "-U", "pms", "-c", str(conns), "-j", str(threads), "-T", str(SECONDS),
             "-M", "prepared", "-r", "-f", os.path.join(BENCH, script), "pms_bench")
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    lat = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
    return {"rps": tps, "mean_us": lat * 1000, "p50_us": None, "p99_us": None,
            "max_us": None, "non2xx": 0, "requests": None}


def median_of(runs):
    out = dict(runs[0])
    for key in ("rps", "p50_us", "p99_us", "max_us", "mean_us"):
        vals = [r[key] for r in runs if r.get(key) is not None]
        out[key] = statistics.median(vals) if vals else None
    out["non2xx"] = sum(r.get("non2xx", 0) for r in runs)
    out["errors"] = sum(r.get("connect_errors", 0) + r.get("read_errors", 0)
                        + r.get("write_errors", 0) + r.get("timeouts", 0)
                        for r in runs)
    out["reps"] = len(runs)
    out["rps_all"] = [round(r["rps"]) for r in runs]
    return out


# ---------------------------------------------------------------- start-up

def fcgi_health(port, path="/health", extra=()):
    """A minimal FastCGI client: one GET, returns the response head."""
    def record(rtype, content, rid=1):
        return struct.pack("!BBHHBx", 1, rtype, rid, len(content), 0) + content

    def pair(k, v):
        k, v = k.encode(), v.encode()
        return bytes([len(k), len(v)]) + k + v

    params = b"".join(pair(k, v) for k, v in (
        ("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", path),
        ("QUERY_STRING", ""), ("SERVER_PROTOCOL", "HTTP/1.1")) + tuple(extra))
    s = socket.create_connection(("127.0.0.1", port), 2)
    s.settimeout(5)
    s.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, params)
              + record(4, b"") + record(5, b""))
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def startup_patient(port=4199):
    """Time from exec to the first answered FastCGI /health of pms-patient."""
    env = dict(os.environ, PMS_PATIENT_DB=ENV["PMS_PATIENT_DB"],
               PMS_PATIENT_WORKERS=ENV["PMS_PATIENT_WORKERS"],
               PMS_PATIENT_SQL_DIR=os.path.join(ENV["PMS_PREFIX"], "share", "pms",
                                                "patient", "sql"))
    t0 = time.time()
    p = subprocess.Popen(["spawn-fcgi", "-n", "-a", "127.0.0.1", "-p", str(port),
                          "--", os.path.join(ENV["PMS_PREFIX"], "sbin", "pms-patient")],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.time() - t0 < 10:
            try:
                if b"Status: 200" in fcgi_health(port) or b'"UP"' in fcgi_health(port):
                    return (time.time() - t0) * 1000
            except OSError:
                time.sleep(0.002)
        return None
    finally:
        p.terminate()
        p.wait()


def startup_auth(port=4198):
    """Time from exec to pms-auth's first answer (it fetches the realm's
    JWKS before it serves, so this includes that fetch)."""
    env = dict(os.environ, PMS_OIDC_ISSUER=ENV["PMS_OIDC_ISSUER"],
               PMS_OIDC_JWKS_URL=ENV.get("PMS_OIDC_JWKS_URL", ""))
    t0 = time.time()
    p = subprocess.Popen(["spawn-fcgi", "-n", "-a", "127.0.0.1", "-p", str(port),
                          "--", os.path.join(ENV["PMS_PREFIX"], "sbin", "pms-auth")],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.time() - t0 < 10:
            try:
                # no credentials: a ready helper answers 401
                if b"Status: 401" in fcgi_health(port, "/_auth/reader",
                                                 (("PMS_REQUIRED_ROLE", "patient-reader"),)):
                    return (time.time() - t0) * 1000
            except OSError:
                time.sleep(0.002)
        return None
    finally:
        p.terminate()
        p.wait()


def billing_calls_per_s():
    """CreateBillingAccount calls/s against pms-billing alone (8 threads)."""
    if not ENV.get("PMS_BILLING_PORT"):
        return None
    sh("make", "-s", "-C", ENV["PMS_BUILD"], "bench/billing-load")
    out = sh(os.path.join(ENV["PMS_BUILD"], "bench", "billing-load"),
             "127.0.0.1:%s" % ENV["PMS_BILLING_PORT"], "8", str(SECONDS))
    return json.loads(out)


def startup_billing(port=9199):
    """Time from exec to pms-billing accepting connections."""
    env = dict(os.environ, PMS_BILLING_LISTEN="127.0.0.1:%d" % port,
               PMS_BILLING_METRICS="",  # the running one has the metrics port
               PMS_BILLING_DB=ENV["PMS_BILLING_DB"],
               PMS_BILLING_SQL_DIR=os.path.join(ENV["PMS_PREFIX"], "share",
                                                "pms", "billing", "sql"))
    t0 = time.time()
    p = subprocess.Popen([os.path.join(ENV["PMS_PREFIX"], "sbin", "pms-billing")],
                         env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        return (wait_port(port) - t0) * 1000
    except RuntimeError:
        return None
    finally:
        p.terminate()
        p.wait()


def event_rates(n=2000):
    """Relay and analytics throughput: n creates pile up in the outbox with
    the relay stopped; then the relay is started and the time until the
    outbox is empty (relay events/s) and until analytics holds all n events
    (analytics events/s, consuming while the relay publishes) is taken."""
    if "relay" not in ctl("status").stdout:
        return None
    import http.client
    from concurrent.futures import ThreadPoolExecutor
    tok = token()
    tag = "rate-%d" % time.time()
    ctl("stop", "relay")

    def create(i):
        c = http.client.HTTPConnection("127.0.0.1", int(ENV["PMS_HTTP_PORT"]), timeout=30)
        body = json.dumps({"name": "Rate %d" % i, "email": "%s-%d@bench.example.com" % (tag, i),
                           "address": "1 Rate Road", "dateOfBirth": "1980-01-02"})
        c.request("POST", "/api/patients", body, {"Content-Type": "application/json",
                                                  "Authorization": "Bearer " + tok})
        r = c.getresponse()
        data = r.read()
        c.close()
        return json.loads(data)["id"] if r.status == 201 else None

    try:
        with ThreadPoolExecutor(16) as pool:
            ids = [i for i in pool.map(create, range(n)) if i]
    finally:
        t0 = time.time()
        ctl("start", "relay")
    id_list = ",".join("'%s'" % i for i in ids)
    relay_s = analytics_s = None
    while time.time() - t0 < 300:
        if relay_s is None and psql("SELECT count(*) FROM outbox WHERE published_at IS NULL"
                                    " AND patient_id IN (%s)" % id_list).strip() == "0":
            relay_s = time.time() - t0
        if psql("SELECT count(*) FROM event WHERE patient_id IN (%s)" % id_list,
                db="analytics").strip() == str(len(ids)):
            analytics_s = time.time() - t0
            break
        time.sleep(0.05)
    return {"events": len(ids),
            "relay_events_per_s": len(ids) / relay_s if relay_s else None,
            "analytics_events_per_s": len(ids) / analytics_s if analytics_s else None}


# ---------------------------------------------------------------- report

def fmt_ms(us):
    return "—" if us is None else "%.2f" % (us / 1000)


def main():
    os.makedirs(OUT, exist_ok=True)
    want = os.environ.get("PMS_BENCH_SCENARIOS")
    scenarios = [s for s in SCENARIOS if not want or s[0] in want.split(",")]
    results = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                           "cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": ")},
               "seconds": SECONDS, "reps": REPS, "scenarios": {}}
    print("seeding patients and the pgbench database ...", file=sys.stderr)
    ids, n, seed_s = seed(min(SMALL, PATIENTS))
    pgbench_db()
    results["rest"] = snapshot()
    procs = start_baselines()
    try:
        if PATIENTS > SMALL:
            results["small"] = run_reads(scenarios, ids)
            print("seeding %d patients ..." % PATIENTS, file=sys.stderr)
            ids, n, seed_s = seed(PATIENTS)
        results["seeded"] = {"patients": n, "seconds": round(seed_s, 1)}
        results["patients_in_table"] = int(psql("SELECT count(*) FROM patient"))
        inputs = prepare_inputs(ids, token())
        for conns in CONNS:
            for name, script, url, _ in scenarios:
                runs = []
                for rep in range(REPS):
                    tok = token() if script else ""
                    print("%-18s c=%-3d rep %d/%d" % (name, conns, rep + 1, REPS),
                          file=sys.stderr)
                    runs.append(wrk(name, script, url, conns, tok, inputs))
                results["scenarios"]["%s@%d" % (name, conns)] = median_of(runs)
            for name, script in (("pgbench-insert", "pg_insert.sql"),
                                 ("pgbench-select", "pg_select.sql")):
                print("%-18s c=%d" % (name, conns), file=sys.stderr)
                runs = [pgbench(script, conns) for _ in range(REPS)]
                results["scenarios"]["%s@%d" % (name, conns)] = median_of(runs)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    results["after"] = snapshot()
    if EXTRAS:
        extras(results)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(report(results, scenarios))
    print("\nJSON: %s" % os.path.join(OUT, "results.json"))
    measured = dict(results["scenarios"])
    measured.update({"small " + k: r for k, r in results.get("small", {}).get("scenarios", {}).items()})
    bad = [k for k, r in measured.items()
           if not r["rps"] or r["non2xx"] + r.get("errors", 0) > 0]
    if bad:
        print("FAIL: scenarios without requests or with non-2xx/socket errors: %s"
              % ", ".join(bad), file=sys.stderr)
        return 1
    return 0


def run_reads(scenarios, ids, conns=SCALE_CONNS):
    """The read scenarios at 16 connections (or the run's last count) on
    the table as it is: the small side of the scale table."""
    small = {"patients": int(psql("SELECT count(*) FROM patient")), "scenarios": {}}
    inputs = prepare_inputs(ids, token())
    for name, script, url, _ in scenarios:
        if name not in READS:
            continue
        runs = []
        for rep in range(REPS):
            print("%-18s c=%-3d rep %d/%d (at %d patients)" % (
                name, conns, rep + 1, REPS, small["patients"]), file=sys.stderr)
            runs.append(wrk(name, script, url, conns, token() if script else "", inputs))
        small["scenarios"]["%s@%d" % (name, conns)] = median_of(runs)
    return small


def extras(results):
    """Start-up times, billing alone, relay and analytics rates."""
    results["startup_ms"] = {"pms-patient": startup_patient()}
    if ENV.get("PMS_KEYCLOAK_PORT"):
        results["startup_ms"]["pms-auth"] = startup_auth()
    if ENV.get("PMS_BILLING_PORT"):
        results["startup_ms"]["pms-billing"] = startup_billing()
        print("billing alone ...", file=sys.stderr)
        results["billing_alone"] = billing_calls_per_s()
    print("relay and analytics rates ...", file=sys.stderr)
    results["event_rates"] = event_rates(EVENTS)
    results["metrics_cost"] = metrics_cost()


def metrics_cost():
    """What counting adds to a request: the accept loop's two updates
    (counter and histogram), as many processes at once as pms-patient has
    workers, all in one shared table."""
    sh("make", "-s", "-C", ENV["PMS_BUILD"], "bench/metrics-cost")
    return json.loads(sh(os.path.join(ENV["PMS_BUILD"], "bench", "metrics-cost"),
                         ENV.get("PMS_PATIENT_WORKERS", "4")))


def scale_table(res):
    """Each read scenario at 16 connections on the small and the full table."""
    small = res.get("small")
    if not small:
        return []
    big = res.get("patients_in_table", "?")
    lines = ["| scenario @%d | req/s at %s patients | req/s at %s patients | ratio |"
             " p99 ms (small / full) |" % (SCALE_CONNS, small["patients"], big),
             "|---|---:|---:|---:|---|"]
    for key, r in small["scenarios"].items():
        full = res["scenarios"].get(key)
        if not full:
            continue
        lines.append("| %s | %.0f | %.0f | %.2f | %s / %s |" % (
            key.split("@")[0], r["rps"], full["rps"], full["rps"] / r["rps"],
            fmt_ms(r["p99_us"]), fmt_ms(full["p99_us"])))
    return lines + [""]


def report(res, scenarios):
    ceil_of = {s[0]: s[3] for s in scenarios}
    seeded = res.get("seeded", {})
    lines = ["patients in the table: %s; %s of them seeded by one INSERT ... SELECT"
             " (this run filled it in %s s)"
             % (res.get("patients_in_table", "?"), seeded.get("patients", "?"),
                seeded.get("seconds", "?")), ""]
    lines += scale_table(res)
    lines += [
             "| scenario | conns | req/s (median) | p50 ms | p99 ms | max ms | non-2xx | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for key, r in res["scenarios"].items():
        name, conns = key.split("@")
        ratio = ""
        ceil = ceil_of.get(name)
        base = res["scenarios"].get("%s@%s" % (ceil, conns)) if ceil else None
        if base and base["rps"]:
            ratio = "%.0f%% of %s" % (100 * r["rps"] / base["rps"], ceil)
        lines.append("| %s | %s | %.0f | %s | %s | %s | %s | %s |" % (
            name, conns, r["rps"], fmt_ms(r["p50_us"]), fmt_ms(r["p99_us"]),
            fmt_ms(r["max_us"]), r["non2xx"] + r.get("errors", 0), ratio))
    lines += ["", "| process | memory at rest (PSS MB) | after the run (PSS MB) | processes |",
              "|---|---:|---:|---:|"]
    total_rest = total_after = 0
    for name in OUR_PROGRAMS:
        if name in res["after"]:
            a = res["after"][name]
            r = res["rest"].get(name, {"rss_kb": 0})
            total_rest += r["rss_kb"]
            total_after += a["rss_kb"]
            lines.append("| %s | %.1f | %.1f | %d |" % (name, r["rss_kb"] / 1024,
                                                       a["rss_kb"] / 1024, a["procs"]))
    lines.append("| **all our daemons** | %.1f | %.1f | |" % (total_rest / 1024,
                                                           total_after / 1024))
    lines += ["", "| scenario @16 | CPU µs per request by tier |", "|---|---|"]
    for key, r in res["scenarios"].items():
        if key.endswith("@16") and r.get("cpu_per_req_us"):
            lines.append("| %s | %s |" % (key.split("@")[0], ", ".join(
                "%s %.0f" % (k, v) for k, v in r["cpu_per_req_us"].items() if v)))
    if res.get("billing_alone"):
        b = res["billing_alone"]
        lines += ["", "billing alone (8 client threads, C client on one channel):"
                  " %.0f CreateBillingAccount calls/s, %d errors" % (
                      b["calls_per_s"], b["errors"])]
    if res.get("event_rates"):
        e = res["event_rates"]
        lines += ["", "events: %d outbox rows published at %s events/s by pms-relay; analytics"
                  " held all of them at %s events/s end to end" % (
                      e["events"], "%.0f" % e["relay_events_per_s"] if e["relay_events_per_s"] else "—",
                      "%.0f" % e["analytics_events_per_s"] if e["analytics_events_per_s"] else "—")]
    if res.get("metrics_cost"):
        m = res["metrics_cost"]
        cpu = res["scenarios"].get("get-by-id@16", {}).get("cpu_per_req_us") or {}
        per_req = sum(cpu.values())
        lines += ["", "metrics: the accept loop's counting costs %.0f ns per request"
                  " (%d processes sharing the table)%s" % (
                      m["ns_per_request"], m["processes"],
                      ", %.3f%% of the %.0f µs of CPU a get-by-id takes in all tiers"
                      % (100 * m["ns_per_request"] / 1000 / per_req, per_req)
                      if per_req else "")]
    if res.get("startup_ms"):
        lines += ["", "| daemon | start-up to ready (ms) |", "|---|---:|"]
    for k, v in res.get("startup_ms", {}).items():
        lines.append("| %s | %s |" % (k, "—" if v is None else "%.1f" % v))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
