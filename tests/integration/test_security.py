"""Security properties of the running stack that are not about one
endpoint: who the processes run as, and what leaks into responses."""

import os
import re
import unittest

from pmstest import ENV, children, ctl, request, token_for


def owner(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


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

    def test_every_api_location_needs_a_token(self):
        prefixes = self.api_prefixes()
        self.assertIn("patients", prefixes)
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


class Secrets(unittest.TestCase):

    def test_no_secret_or_token_in_any_log(self):
        secrets = [v for k, v in ENV.items()
                   if k.endswith(("_SECRET", "_PASSWORD")) and len(v) >= 8]
        secrets += [token_for(c) for c in ("ms-api", "ms-readonly") if ENV.get("PMS_KEYCLOAK_PORT")]
        # a request that carries a token and fails, so it would be logged
        request("GET", "/api/patients/not-a-uuid")
        logs = os.path.join(ENV["PMS_RUN"], "log")
        for name in os.listdir(logs):
            with open(os.path.join(logs, name), "rb") as f:
                text = f.read()
            for s in secrets:
                self.assertNotIn(s.encode(), text, "a secret or token is in %s" % name)
                self.assertNotIn(s.split(".")[-1].encode(), text,
                                 "a token signature is in %s" % name)
