"""Billing: the gRPC contract checked with an independent client
(@grpc/grpc-js), and the synchronous call on patient create through the
gateway, including billing down, hung and restarted."""

import os
import signal
import socket
import subprocess
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor

from pmstest import (ENV, ctl, grpc_js, new_patient, program_pid, request,
                     sql, unique_email, wait_until)


def create(patient_id=None, name="John Doe", email="john.doe@example.com"):
    return {"method": "CreateBillingAccount", "timeoutMs": 3000,
            "request": {"patientId": patient_id if patient_id is not None
                        else str(uuid.uuid4()), "name": name, "email": email}}


def delete(patient_id):
    return {"method": "DeleteBillingAccount", "timeoutMs": 3000,
            "request": {"patientId": patient_id}}


def accounts_for(patient_id):
    return sql("SELECT account_id, status FROM billing_account"
               " WHERE patient_id = '%s'" % patient_id, db="billing")


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def billing_running():
    return "RUNNING" in ctl("status", "billing").stdout


class Contract(unittest.TestCase):

    def test_create_account(self):
        pid = str(uuid.uuid4())
        [r] = grpc_js([create(pid)])
        self.assertEqual(r["codeName"], "OK", r)
        uuid.UUID(r["response"]["accountId"])
        self.assertEqual(r["response"]["status"], "ACTIVE")
        self.assertEqual(accounts_for(pid), [[r["response"]["accountId"], "ACTIVE"]])

    def test_idempotent_per_patient(self):
        pid = str(uuid.uuid4())
        a, b = grpc_js([create(pid), create(pid, name="Other Name")])
        self.assertEqual(a["codeName"], "OK")
        self.assertEqual(b["codeName"], "OK")
        self.assertEqual(a["response"]["accountId"], b["response"]["accountId"])
        self.assertEqual(len(accounts_for(pid)), 1)

    def test_delete_account_undoes_a_create_and_is_idempotent(self):
        pid = str(uuid.uuid4())
        made, gone, again, bad = grpc_js([create(pid), delete(pid), delete(pid),
                                          delete("not-a-uuid")])
        self.assertEqual(made["codeName"], "OK", made)
        self.assertEqual(gone["codeName"], "OK", gone)
        self.assertEqual(gone["response"]["deleted"], True)
        self.assertEqual(again["codeName"], "OK", again)
        self.assertFalse(again["response"].get("deleted", False))
        self.assertEqual(bad["codeName"], "INVALID_ARGUMENT", bad)
        self.assertEqual(accounts_for(pid), [])

    def test_invalid_arguments(self):
        results = grpc_js([create(""), create("12333"),
                           create(email="not-an-email"), create(email=""),
                           create(name="")])
        for r in results:
            self.assertEqual(r["codeName"], "INVALID_ARGUMENT", r)
            self.assertTrue(r["details"], r)
        self.assertIn("patientId", results[0]["details"])
        self.assertIn("UUID", results[1]["details"])
        self.assertIn("email", results[2]["details"])

    def test_health_check(self):
        a, b, c = grpc_js([
            {"method": "Check", "request": {"service": ""}},
            {"method": "Check", "request": {"service": "BillingService"}},
            {"method": "Check", "request": {"service": "NoSuchService"}}])
        self.assertEqual(a["response"]["status"], "SERVING")
        self.assertEqual(b["response"]["status"], "SERVING")
        self.assertEqual(c["codeName"], "NOT_FOUND")

    def test_unknown_method_is_unimplemented_at_once(self):
        t0 = time.time()
        [r] = grpc_js([{"method": "/BillingService/Nope", "timeoutMs": 5000}])
        self.assertEqual(r["codeName"], "UNIMPLEMENTED", r)
        self.assertLess(time.time() - t0, 4.0)

    def test_second_instance_fails_loudly(self):
        env = dict(os.environ,
                   PMS_BILLING_LISTEN="127.0.0.1:%s" % ENV["PMS_BILLING_PORT"],
                   PMS_BILLING_DB=ENV["PMS_BILLING_DB"],
                   PMS_BILLING_SQL_DIR=os.path.join(ENV["PMS_PREFIX"], "share",
                                                    "pms", "billing", "sql"))
        out = subprocess.run([os.path.join(ENV["PMS_PREFIX"], "sbin", "pms-billing")],
                             env=env, capture_output=True, text=True, timeout=20)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("cannot listen", out.stderr)


class ThroughTheGateway(unittest.TestCase):

    def tearDown(self):
        pid = program_pid("billing")
        if pid:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if not billing_running():
            ctl("start", "billing")
        self.assertTrue(wait_until(billing_running, timeout=15))

    def test_create_makes_exactly_one_account(self):
        r = request("POST", "/api/patients", new_patient())
        self.assertEqual(r.status, 201, r)
        p = r.json()
        rows = accounts_for(p["id"])
        self.assertEqual(len(rows), 1)
        self.assertEqual(p["billingAccountId"], rows[0][0])
        self.assertEqual(sql("SELECT billing_account_id FROM patient WHERE id = '%s'"
                             % p["id"]), [[rows[0][0]]])

    def test_refused_create_leaves_no_account(self):
        email = unique_email("taken")
        self.assertEqual(request("POST", "/api/patients",
                                 new_patient(email=email)).status, 201)
        for body in (new_patient(email=email), new_patient(email=email.upper())):
            r = request("POST", "/api/patients", body)
            self.assertEqual(r.status, 409, r)
        self.assertEqual(sql("SELECT count(*) FROM billing_account"
                             " WHERE lower(email) = lower('%s')" % email, db="billing"),
                         [["1"]])
        with open(os.path.join(ENV["PMS_RUN"], "log", "billing.log")) as f:
            log = f.read()
        self.assertGreaterEqual(log.count('"deleted":true'), 2)

    def test_create_is_one_statement_with_its_event(self):
        r = request("POST", "/api/patients", new_patient(registeredDate="2021-03-04"))
        self.assertEqual(r.status, 201, r)
        p = r.json()
        self.assertEqual(p["registeredDate"], "2021-03-04")
        self.assertEqual(sql("SELECT count(*) FROM outbox WHERE patient_id = '%s'"
                             " AND event_type = 'PATIENT_CREATED'" % p["id"]), [["1"]])

    def test_creates_update_no_patient_row(self):
        """The billing id is in the insert: no UPDATE, no dead tuple per
        create (sessions flush their statistics within a second of idling)."""
        def updates():
            time.sleep(2.5)
            return int(sql("SELECT n_tup_upd FROM pg_stat_user_tables"
                           " WHERE relname = 'patient'")[0][0])
        before = updates()
        for _ in range(10):
            self.assertEqual(request("POST", "/api/patients", new_patient()).status, 201)
        self.assertEqual(updates(), before)

    def test_billing_stopped_gives_503_and_changes_nothing(self):
        patients = sql("SELECT count(*) FROM patient")[0][0]
        accounts = sql("SELECT count(*) FROM billing_account", db="billing")[0][0]
        ctl("stop", "billing")
        email = unique_email("nobill")
        r = request("POST", "/api/patients", new_patient(email=email))
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.header("Content-Type"), "application/problem+json")
        self.assertEqual(r.header("Retry-After"), "1")
        self.assertEqual(sql("SELECT count(*) FROM patient")[0][0], patients)
        self.assertEqual(sql("SELECT count(*) FROM billing_account", db="billing")[0][0],
                         accounts)
        health = request("GET", "/health")
        self.assertEqual(health.status, 503)
        self.assertEqual(health.json()["checks"]["billing"], "DOWN")
        # the very same request succeeds once billing is back
        ctl("start", "billing")
        started = time.time()
        ok = wait_until(lambda: request("POST", "/api/patients",
                                        new_patient(email=email)).status == 201,
                        timeout=5, interval=0.05)
        self.assertTrue(ok)
        self.assertLess(time.time() - started, 2.5)   # supervisorctl start waits 1 s

    def test_billing_hung_gives_503_within_the_deadline(self):
        pid = program_pid("billing")
        os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.time()
            r = request("POST", "/api/patients", new_patient())
            elapsed = time.time() - t0
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertEqual(r.status, 503, r)
        deadline = int(ENV["PMS_BILLING_TIMEOUT_MS"]) / 1000
        self.assertGreaterEqual(elapsed, deadline - 0.1)
        self.assertLess(elapsed, deadline + 1.0)
        ok = wait_until(lambda: request("POST", "/api/patients",
                                        new_patient()).status == 201, timeout=3)
        self.assertTrue(ok)

    def test_billing_restart_recovers_within_a_second(self):
        self.assertEqual(request("POST", "/api/patients", new_patient()).status, 201)
        ctl("stop", "billing")
        proc = subprocess.Popen(["supervisorctl", "-c",
                                 os.path.join(ENV["PMS_RUN"], "etc", "supervisord.conf"),
                                 "start", "billing"], stdout=subprocess.DEVNULL)
        self.assertTrue(wait_until(lambda: program_pid("billing"), timeout=5,
                                   interval=0.01))
        up = time.time()
        ok = wait_until(lambda: request("POST", "/api/patients",
                                        new_patient()).status == 201,
                        timeout=5, interval=0.05)
        recovery = time.time() - up
        proc.wait()
        self.assertTrue(ok)
        self.assertLess(recovery, 1.0)

    def test_200_concurrent_creates(self):
        tag = uuid.uuid4().hex[:8]
        with ThreadPoolExecutor(max_workers=50) as pool:
            responses = list(pool.map(
                lambda i: request("POST", "/api/patients",
                                  new_patient(email="c%s-%d@example.com" % (tag, i))),
                range(200)))
        self.assertEqual([r.status for r in responses], [201] * 200)
        ids = [r.json()["id"] for r in responses]
        accounts = {r.json()["billingAccountId"] for r in responses}
        self.assertEqual(len(set(ids)), 200)
        self.assertEqual(len(accounts), 200)
        rows = sql("SELECT count(*), count(DISTINCT account_id) FROM billing_account"
                   " WHERE patient_id IN (%s)" % ",".join("'%s'" % i for i in ids),
                   db="billing")
        self.assertEqual(rows, [["200", "200"]])


@unittest.skipIf(ENV.get("PMS_SANITIZED") == "1",
                 "valgrind cannot run an AddressSanitizer build (the ASan pass checks it instead)")
class Valgrind(unittest.TestCase):

    def test_daemon_under_valgrind_has_no_leaks(self):
        port = int(ENV["PMS_BILLING_PORT"]) + 100
        log = os.path.join(ENV["PMS_RUN"], "log", "billing-valgrind.log")
        # a second instance beside the running one: its own port, no metrics
        env = dict(os.environ, PMS_BILLING_LISTEN="127.0.0.1:%d" % port,
                   PMS_BILLING_METRICS="",
                   PMS_BILLING_DB=ENV["PMS_BILLING_DB"], PMS_BILLING_THREADS="2",
                   PMS_BILLING_SQL_DIR=os.path.join(ENV["PMS_PREFIX"], "share",
                                                    "pms", "billing", "sql"))
        proc = subprocess.Popen(
            ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
             "--error-exitcode=9", "--log-file=" + log,
             os.path.join(ENV["PMS_PREFIX"], "sbin", "pms-billing")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.assertTrue(wait_until(lambda: port_open(port), timeout=60,
                                       interval=0.2))
            results = grpc_js([create(), create(""), create("12333"),
                               {"method": "Check", "request": {"service": ""}},
                               {"method": "/BillingService/Nope"}] + [create()] * 20,
                              concurrent=True, target="127.0.0.1:%d" % port)
            self.assertEqual([r["codeName"] for r in results[:5]],
                             ["OK", "INVALID_ARGUMENT", "INVALID_ARGUMENT", "OK",
                              "UNIMPLEMENTED"])
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=60)
        with open(log) as f:
            report = f.read()
        self.assertEqual(rc, 0, report[-3000:])
        self.assertRegex(report, r"definitely lost: 0 bytes|All heap blocks were freed")
        self.assertIn("ERROR SUMMARY: 0 errors", report)


if __name__ == "__main__":
    unittest.main()
