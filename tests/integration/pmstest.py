"""pmstest -- the one helper module of the integration suite, the
fault-and-load suite (tests/soak) and the benchmark (bench/run.py): HTTP
through the gateway, SQL through psql, process control through
supervisorctl, tokens, waits, all against the stack that ./pms up started
(settings come from .run/env)."""

import http.client
import json
import os
import re
import shlex
import subprocess
import threading
import time
import uuid

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _load_env():
    env = {}
    run = os.environ.get("PMS_RUN", os.path.join(SRC, ".run"))
    with open(os.path.join(run, "env")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


ENV = _load_env()
HOST = "127.0.0.1"
PORT = int(ENV["PMS_HTTP_PORT"])


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def request(method, path, body=None, headers=None, raw=None, timeout=30,
            token=True):
    """One HTTP request through the gateway.  body is JSON-encoded unless
    raw bytes are given.  token=True adds the default bearer token when the
    identity layer provides one (tests that check auth pass token=False or
    their own Authorization header)."""
    hdrs = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if token and "Authorization" not in hdrs and default_token():
        hdrs["Authorization"] = "Bearer " + default_token()
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return Response(resp.status,
                        {k.lower(): v for k, v in resp.getheaders()}, payload)
    finally:
        conn.close()


_TOKENS = {}
_TOKENS_LOCK = threading.Lock()


def links(header):
    """rel -> URL of an RFC 8288 Link header."""
    return {rel: url for url, rel in re.findall(r'<([^>]*)>; rel="([a-z]+)"', header or "")}


def follow(url, **kw):
    """GET a URL taken from a Link header."""
    return request("GET", url, **kw)


def token_for(client):
    """An access token for a Keycloak client, via ./pms token (cached,
    fetched by one thread at a time, retried while Keycloak warms up).
    None when the stack has no identity provider configured."""
    if not ENV.get("PMS_KEYCLOAK_PORT"):
        return None
    with _TOKENS_LOCK:
        if client not in _TOKENS or _TOKENS[client][1] < time.time() + 30:
            for attempt in range(5):
                out = subprocess.run([os.path.join(SRC, "pms"), "token", client],
                                     capture_output=True, text=True)
                if out.returncode == 0:
                    break
                time.sleep(0.5 * (attempt + 1))
            else:
                raise RuntimeError("./pms token %s failed: %s" % (client, out.stderr.strip()))
            _TOKENS[client] = (out.stdout.strip(), time.time() + 240)
        return _TOKENS[client][0]


def default_token():
    return token_for("ms-api")


def sql(query, db="patients"):
    """Runs SQL as the pms role; returns rows as lists of strings."""
    out = subprocess.run(
        ["psql", "-X", "-qAt", "-F", "\t", "-v", "ON_ERROR_STOP=1",
         "-h", ENV["PMS_PG_SOCK"], "-p", ENV["PMS_PG_PORT"], "-U", "pms",
         db, "-c", query],
        check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def ctl(*args):
    """supervisorctl against the stack's supervisord."""
    return subprocess.run(
        ["supervisorctl", "-c", os.path.join(ENV["PMS_RUN"], "etc",
                                             "supervisord.conf")] + list(args),
        capture_output=True, text=True)


def program_pid(name):
    out = ctl("pid", name).stdout.strip()
    return int(out) if out.isdigit() and out != "0" else None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def tree(pid):
    """pid and every process below it."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


def wait_until(predicate, timeout=20.0, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def unique_email(tag="t"):
    return "%s-%s@example.com" % (tag, uuid.uuid4().hex[:12])


def new_patient(**overrides):
    body = {
        "name": "Test Patient",
        "email": unique_email(),
        "address": "1 Test Street, Springfield",
        "dateOfBirth": "1980-01-02",
    }
    body.update(overrides)
    return body


def grpc_js(specs, concurrent=False, target=None):
    """Runs gRPC calls through the independent JavaScript peer
    (tests/grpc/billing_client.js, @grpc/grpc-js installed once into
    .cache/grpc-js from the committed lock file).  specs: dicts with method,
    request, timeoutMs.  Returns one result dict per call."""
    cache = os.path.join(ENV.get("PMS_CACHE", os.path.join(SRC, ".cache")),
                         "grpc-js")
    if not os.path.isdir(os.path.join(cache, "node_modules", "@grpc", "grpc-js")):
        os.makedirs(cache, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            with open(os.path.join(SRC, "tests", "grpc", name)) as src, \
                    open(os.path.join(cache, name), "w") as dst:
                dst.write(src.read())
        subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"],
                       cwd=cache, check=True, capture_output=True)
    env = dict(os.environ, NODE_PATH=os.path.join(cache, "node_modules"),
               PMS_GRPC_CONCURRENT="1" if concurrent else "0")
    out = subprocess.run(
        ["node", os.path.join(SRC, "tests", "grpc", "billing_client.js"),
         target or "127.0.0.1:%s" % ENV["PMS_BILLING_PORT"],
         os.path.join(SRC, "proto")],
        input="\n".join(json.dumps(s) for s in specs), env=env,
        capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return [json.loads(line) for line in out.stdout.splitlines()]
