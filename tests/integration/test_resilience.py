"""The patient service under concurrency and faults: racing creates, a
killed worker, a draining master, a restarted PostgreSQL."""

import os
import signal
import subprocess
import threading
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor

from pmstest import (ENV, children, ctl, new_patient, program_pid, request,
                     sql, unique_email, wait_until)


def health_ok():
    try:
        return request("GET", "/health", timeout=2).status == 200
    except OSError:
        return False


class Concurrency(unittest.TestCase):

    def test_50_concurrent_creates_with_one_email(self):
        email = unique_email("race")
        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(
                lambda i: request("POST", "/api/patients",
                                  new_patient(name="Racer %d" % i,
                                              email=email)).status,
                range(50)))
        self.assertEqual(statuses.count(201), 1, statuses)
        self.assertEqual(statuses.count(409), 49, statuses)
        self.assertEqual(sql("SELECT count(*) FROM patient WHERE email = '%s'"
                             % email), [["1"]])
        # billing is called before the insert: each of the 49 refused
        # creates had its account deleted again, so exactly one is left
        self.assertEqual(sql("SELECT count(*) FROM billing_account WHERE email = '%s'"
                             % email, db="billing"), [["1"]])


class Workers(unittest.TestCase):

    def test_killed_worker_is_replaced_and_requests_keep_working(self):
        master = program_pid("patient")
        self.assertIsNotNone(master)
        workers = children(master)
        self.assertEqual(len(workers), int(ENV["PMS_PATIENT_WORKERS"]))
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        statuses = [request("GET", "/api/patients?size=1").status
                    for _ in range(40)]
        self.assertEqual(statuses, [200] * 40)
        replaced = wait_until(lambda: len(children(master)) == len(workers)
                              and victim not in children(master), timeout=5)
        self.assertTrue(replaced, children(master))
        self.assertEqual(program_pid("patient"), master)

    def test_sigterm_drains_in_flight_requests(self):
        p = request("POST", "/api/patients", new_patient()).json()
        # Hold the row lock so the PUT below stays in flight in a worker.
        locker = subprocess.Popen(
            ["psql", "-X", "-q", "-h", ENV["PMS_PG_SOCK"], "-p",
             ENV["PMS_PG_PORT"], "-U", "pms", "patients"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        locker.stdin.write("BEGIN; SELECT 1 FROM patient WHERE id = '%s'"
                           " FOR UPDATE;\n" % p["id"])
        locker.stdin.flush()
        time.sleep(0.5)
        result = {}

        def put():
            result["put"] = request("PUT", "/api/patients/" + p["id"],
                                    new_patient(name="During Drain"))

        t = threading.Thread(target=put)
        t.start()
        self.assertTrue(wait_until(lambda: sql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = 'patients'")[0][0] != "0", timeout=5))
        master = program_pid("patient")
        stopper = threading.Thread(target=lambda: result.update(stop=ctl("stop", "patient")))
        stopper.start()
        time.sleep(1.0)
        self.assertTrue(os.path.exists("/proc/%d" % master),
                        "master exited before its in-flight request finished")
        locker.stdin.write("COMMIT;\n")
        locker.stdin.close()
        locker.wait(timeout=10)
        t.join(timeout=15)
        stopper.join(timeout=30)
        try:
            self.assertEqual(result["put"].status, 200, result["put"])
            self.assertEqual(result["put"].json()["name"], "During Drain")
            self.assertIn("stopped", result["stop"].stdout)
            with open(os.path.join(ENV["PMS_RUN"], "log", "supervisord.log")) as f:
                tail = f.read()[-4000:]
            self.assertRegex(tail, r"stopped: patient \(exit status 0\)")
        finally:
            ctl("start", "patient")
            self.assertTrue(wait_until(health_ok, timeout=20))


class Database(unittest.TestCase):

    def test_postgresql_restart_is_survived_without_restarting_the_service(self):
        master = program_pid("patient")
        for _ in range(10):
            self.assertEqual(request("GET", "/api/patients?size=1").status, 200)
        pg = [os.path.join(subprocess.run(["bash", "-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1"],
                                          capture_output=True, text=True).stdout.strip(), "pg_ctl"),
              "-D", os.path.join(ENV["PMS_RUN"], "pg", "data"), "-m", "fast",
              "-w", "restart", "-o", "-p %s" % ENV["PMS_PG_PORT"],
              "-l", os.path.join(ENV["PMS_RUN"], "pg", "postgres.log")]
        if os.geteuid() == 0:
            pg = ["runuser", "-u", "postgres", "--"] + pg
        subprocess.run(pg, check=True, capture_output=True)
        start = time.time()
        ok = wait_until(lambda: request("GET", "/api/patients?size=1").status == 200,
                        timeout=10)
        self.assertTrue(ok)
        recovered = time.time() - start
        statuses = [request("GET", "/api/patients?size=1").status for _ in range(20)]
        self.assertEqual(statuses, [200] * 20)
        created = request("POST", "/api/patients", new_patient())
        self.assertEqual(created.status, 201, created)
        self.assertEqual(program_pid("patient"), master)
        self.assertLess(recovered, 5.0)


if __name__ == "__main__":
    unittest.main()
