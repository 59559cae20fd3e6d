"""Security properties of the running stack that are not about one
endpoint: who the processes run as, and what leaks into responses."""

import os
import re
import time
import unittest
import urllib.parse

from pmstest import ENV, ctl, new_patient, request, sql, token_for, tree

# What an attacker types into every field and parameter.  Each must be
# stored exactly as sent or refused with 400, and never change the database.
INJECTIONS = [
    "'; DROP TABLE patient; --",
    "' OR '1'='1",
    "Robert'); DELETE FROM patient WHERE ('1'='1",
    "\\'; SELECT pg_sleep(3); --",
    "1 UNION SELECT email FROM patient --",
    "$1, $2) --",
    "%' OR name LIKE '%",
    "\"; TRUNCATE outbox; --",
]


def owner(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


class Processes(unittest.TestCase):

    @unittest.skipUnless(os.geteuid() == 0, "only meaningful when started as root")
    def test_no_daemon_runs_as_root(self):
        programs = [line.split()[0] for line in ctl("status").stdout.splitlines()
                    if "RUNNING" in line]
        self.assertIn("patient", programs)
        for name in programs:
            pid = int(ctl("pid", name).stdout.strip())
            pids = tree(pid)
            if name in ("nginx",):
                pids = pids[1:]     # the master binds the port; workers drop root
            if name in ("kafka", "keycloak"):
                continue            # third-party JVMs, checked by their own config
            for p in pids:
                self.assertNotEqual(owner(p), 0, "%s pid %d runs as root" % (name, p))


class Headers(unittest.TestCase):

    def test_no_version_disclosed(self):
        for path in ("/health", "/api/patients", "/nothing"):
            r = request("GET", path)
            self.assertEqual(r.header("Server"), "nginx", path)
            self.assertNotIn("x-powered-by", r.headers)
            self.assertNotIn(b"nginx/", r.body)


if __name__ == "__main__":
    unittest.main()


class EveryApiRoute(unittest.TestCase):
    """Walks the rendered gateway configuration, so a route added later
    cannot forget auth_request."""

    def api_prefixes(self):
        with open(os.path.join(ENV["PMS_RUN"], "etc", "nginx.conf")) as f:
            conf = f.read()
        prefixes = set()
        for m in re.finditer(r"location\s+(?:[=~^]+\s*)?(\S+)\s*\{", conf):
            pattern = m.group(1)
            if pattern.startswith("^/api/(") or pattern.startswith("/api"):
                for alt in re.findall(r"\(([^)]*)\)", pattern)[:1] or [pattern]:
                    for name in alt.split("|"):
                        prefixes.add(name.strip("^/").replace("api/", ""))
        return sorted(p for p in prefixes if p and p != "/")

    # The /api/ paths that are open on purpose, each an exact location:
    # the OpenAPI document and FHIR's CapabilityStatement.
    OPEN = {"openapi.json", "fhir/metadata"}

    def test_the_open_api_paths_are_exactly_the_listed_ones(self):
        with open(os.path.join(ENV["PMS_RUN"], "etc", "nginx.conf")) as f:
            exact = set(re.findall(r"location\s+=\s+/api/(\S+)\s*\{", f.read()))
        self.assertEqual(exact, self.OPEN)
        for p in sorted(self.OPEN):
            self.assertEqual(request("GET", "/api/" + p, token=False).status, 200, p)
            # only the path itself: below it, a token is needed again or nothing is there
            self.assertIn(request("GET", "/api/%s/x" % p, token=False).status, (401, 404), p)

    def test_every_api_location_needs_a_token(self):
        prefixes = [p for p in self.api_prefixes() if p not in self.OPEN]
        self.assertIn("patients", prefixes)
        self.assertIn("fhir", prefixes)
        for p in prefixes:
            for method in ("GET", "POST", "PUT", "DELETE"):
                r = request(method, "/api/%s/x" % p, {} if method in ("POST", "PUT") else None,
                            token=False)
                self.assertEqual(r.status, 401, (method, p, r))
                r = request(method, "/api/%s" % p, token=False)
                self.assertEqual(r.status, 401, (method, p, r))

    def test_internal_locations_are_not_reachable(self):
        for path in ("/_reader/patients", "/_writer/patients", "/_auth/reader",
                     "/_auth/writer", "/_problem/403"):
            self.assertEqual(request("GET", path, token=False).status, 404, path)


class SqlInjection(unittest.TestCase):
    """Every field and query parameter with SQL payloads: stored verbatim or
    rejected, never executed (the tables and their row counts survive)."""

    def setUp(self):
        self.before = sql("SELECT count(*) FROM patient")[0][0]

    def assertIntact(self, created=0):
        self.assertEqual(sql("SELECT to_regclass('patient') IS NOT NULL,"
                             " to_regclass('outbox') IS NOT NULL"), [["t", "t"]])
        self.assertEqual(int(sql("SELECT count(*) FROM patient")[0][0]),
                         int(self.before) + created)

    def test_text_fields_store_payloads_verbatim(self):
        created = 0
        for payload in INJECTIONS:
            for field in ("name", "address"):
                t0 = time.time()
                r = request("POST", "/api/patients", new_patient(**{field: payload}))
                self.assertLess(time.time() - t0, 2.5, "pg_sleep ran? %r" % payload)
                self.assertEqual(r.status, 201, (field, payload, r))
                created += 1
                pid = r.json()["id"]
                self.assertEqual(r.json()[field], payload)
                self.assertEqual(request("GET", "/api/patients/" + pid).json()[field], payload)
                column = "name" if field == "name" else "address"
                self.assertEqual(sql("SELECT %s FROM patient WHERE id = '%s'" % (column, pid)),
                                 [[payload]])
        self.assertIntact(created)

    def test_email_and_date_fields_refuse_payloads(self):
        for payload in INJECTIONS:
            r = request("POST", "/api/patients", new_patient(email=payload + "@example.com"))
            # an address with these characters is refused; if one were
            # accepted it would have to come back byte for byte
            if r.status == 201:
                self.assertEqual(r.json()["email"], payload + "@example.com")
                request("DELETE", "/api/patients/" + r.json()["id"])
            else:
                self.assertEqual(r.status, 400, (payload, r))
            for field in ("dateOfBirth", "registeredDate"):
                r = request("POST", "/api/patients", new_patient(**{field: payload}))
                self.assertEqual(r.status, 400, (field, payload, r))
                self.assertIn(field, r.body.decode())
        self.assertIntact()

    def test_query_parameters_and_path_refuse_or_match_literally(self):
        marker = "inj-%d" % time.time_ns()
        r = request("POST", "/api/patients", new_patient(name=marker + " ' OR '1'='1"))
        self.assertEqual(r.status, 201)
        for payload in INJECTIONS:
            q = urllib.parse.quote(payload, safe="")
            r = request("GET", "/api/patients?q=" + q)
            self.assertEqual(r.status, 200, (payload, r))
            found = [p["name"] + " " + p["email"] for p in r.json()]
            self.assertTrue(all(payload.lower() in f.lower() for f in found), (payload, found))
            for param in ("page", "size"):
                r = request("GET", "/api/patients?%s=%s" % (param, q))
                self.assertEqual(r.status, 400, (param, payload, r))
            for method in ("GET", "DELETE"):
                r = request(method, "/api/patients/" + q)
                self.assertIn(r.status, (400, 404), (method, payload, r))
            r = request("PUT", "/api/patients/" + q, new_patient())
            self.assertIn(r.status, (400, 404), (payload, r))
        # the literal quote payload finds exactly the patient that has it
        r = request("GET", "/api/patients?q=" + urllib.parse.quote(marker + " ' OR '1'='1"))
        self.assertEqual([p["name"] for p in r.json()], [marker + " ' OR '1'='1"])
        self.assertIntact(1)

    def test_if_match_header_refuses_payloads(self):
        pid = request("POST", "/api/patients", new_patient()).json()["id"]
        for payload in INJECTIONS:
            r = request("PUT", "/api/patients/" + pid, new_patient(),
                        headers={"If-Match": payload})
            self.assertIn(r.status, (400, 412), (payload, r))
        self.assertEqual(request("GET", "/api/patients/" + pid).header("ETag"), '"1"')
        self.assertIntact(1)


class Secrets(unittest.TestCase):

    def test_no_secret_or_token_in_any_log(self):
        secrets = [v for k, v in ENV.items()
                   if k.endswith(("_SECRET", "_PASSWORD")) and len(v) >= 8]
        secrets += [token_for(c) for c in ("ms-api", "ms-readonly") if ENV.get("PMS_KEYCLOAK_PORT")]
        # a request that carries a token and fails, so it would be logged
        request("GET", "/api/patients/not-a-uuid")
        logs = os.path.join(ENV["PMS_RUN"], "log")
        files = [os.path.join(logs, n) for n in os.listdir(logs)
                 if os.path.isfile(os.path.join(logs, n))]
        # nginx's auth cache holds acceptances under a hash of the token
        cache = os.path.join(ENV["PMS_RUN"], "nginx", "cache")
        files += [os.path.join(d, n) for d, _, ns in os.walk(cache) for n in ns]
        self.assertTrue(any("/cache/" in f for f in files), "the auth cache is in use")
        for name in files:
            with open(name, "rb") as f:
                text = f.read()
            for s in secrets:
                self.assertNotIn(s.encode(), text, "a secret or token is in %s" % name)
                self.assertNotIn(s.split(".")[-1].encode(), text,
                                 "a token signature is in %s" % name)
