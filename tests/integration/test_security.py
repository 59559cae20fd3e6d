"""Security properties of the running stack that are not about one
endpoint: who the processes run as, and what leaks into responses."""

import os
import unittest

from pmstest import children, ctl, request


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
