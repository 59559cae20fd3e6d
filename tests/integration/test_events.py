"""Events: every patient write is one PatientEvent on the real Kafka
topic (read back with kcat, decoded by protoc), nothing is lost when
Kafka, the relay or the analytics daemon fail, and analytics counts each
event exactly once."""

import os
import re
import signal
import subprocess
import threading
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor

from pmstest import (ENV, SRC, ctl, new_patient, program_pid, request, sql,
                     wait_until)

BROKERS = ENV.get("PMS_KAFKA_BROKERS", "")
TOPIC = ENV.get("PMS_KAFKA_TOPIC", "patient")


def topic_index():
    """(key, partition, offset) of every message on the topic."""
    out = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", TOPIC, "-o", "beginning",
                          "-e", "-q", "-f", "%k\t%p\t%o\n"],
                         capture_output=True, text=True, timeout=60).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line.count("\t") == 2]


def payload(partition, offset):
    return subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", TOPIC, "-p", partition,
                           "-o", offset, "-c", "1", "-e", "-q", "-f", "%s"],
                          capture_output=True, timeout=30).stdout


def protoc_decode(data):
    """The independent decoder: protoc's text format of the message."""
    out = subprocess.run(["protoc", "--decode", "patient.events.PatientEvent",
                          "--proto_path", os.path.join(SRC, "proto"),
                          os.path.join(SRC, "proto", "patient_event.proto")],
                         input=data, capture_output=True, check=True).stdout.decode()
    return dict(re.findall(r'^(\w+): "(.*)"$', out, re.M))


def analytics(query):
    return sql(query, db="analytics")


def counts():
    rows = dict(analytics("SELECT event_type, count FROM events_by_type"))
    return {k: int(v) for k, v in rows.items()}


def events_for(ids):
    if not ids:
        return {}
    rows = analytics("SELECT patient_id, count(*) FROM event WHERE patient_id IN (%s)"
                     " GROUP BY patient_id" % ",".join("'%s'" % i for i in ids))
    return {r[0]: int(r[1]) for r in rows}


def burst(n, during=None, at=100):
    """n concurrent creates; calls during() exactly once, when the `at`-th
    of them is done (counted under a lock: two threads finishing together
    once both saw a count past `at`, and the fault never happened)."""
    done = [0]
    lock = threading.Lock()

    def one(i):
        r = request("POST", "/api/patients", new_patient(
            email="burst-%s-%d@example.com" % (uuid.uuid4().hex[:10], i)))
        with lock:
            done[0] += 1
            now = done[0] == at
        if during and now:
            during()
        return r

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(one, range(n)))
    return responses


@unittest.skipUnless(BROKERS, "events are not part of this stack")
class Events(unittest.TestCase):

    def test_create_update_delete_are_three_events_on_the_topic(self):
        before = counts()
        body = new_patient(name="Kafka Person")
        created = request("POST", "/api/patients", body)
        self.assertEqual(created.status, 201, created)
        pid = created.json()["id"]
        self.assertEqual(request("PUT", "/api/patients/" + pid,
                                 new_patient(name="Kafka Person 2")).status, 200)
        self.assertEqual(request("DELETE", "/api/patients/" + pid).status, 204)
        self.assertTrue(wait_until(lambda: len([m for m in topic_index() if m[0] == pid]) >= 3,
                                   timeout=20, interval=0.3))
        mine = [m for m in topic_index() if m[0] == pid]
        self.assertEqual(len(mine), 3, mine)
        self.assertEqual(len({m[1] for m in mine}), 1, "one key, one partition")
        events = [protoc_decode(payload(p, o)) for _, p, o in mine]
        self.assertEqual([e["event_type"] for e in events],
                         ["PATIENT_CREATED", "PATIENT_UPDATED", "PATIENT_DELETED"])
        for e in events:
            self.assertEqual(e["patientId"], pid)
            uuid.UUID(e["event_id"])
            self.assertRegex(e["occurred_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(e["registered_date"], created.json()["registeredDate"])
        self.assertEqual(events[0]["name"], "Kafka Person")
        self.assertEqual(events[0]["email"], body["email"])
        self.assertEqual(events[1]["name"], "Kafka Person 2")
        self.assertEqual(len({e["event_id"] for e in events}), 3)
        self.assertTrue(wait_until(lambda: events_for([pid]).get(pid) == 3, timeout=20))
        after = counts()
        for t in ("PATIENT_CREATED", "PATIENT_UPDATED", "PATIENT_DELETED"):
            self.assertEqual(after.get(t, 0) - before.get(t, 0), 1, t)
        summary = request("GET", "/api/analytics/summary")
        self.assertEqual(summary.status, 200, summary)
        self.assertEqual(summary.json()["eventsByType"], after)
        self.assertEqual(summary.json()["patientsRegistered"],
                         int(analytics("SELECT count(*) FROM registered_patient")[0][0]))

    def test_summary_needs_the_reader_role_and_is_read_only(self):
        r = request("GET", "/api/analytics/summary", token=False)
        self.assertEqual(r.status, 401)
        r = request("POST", "/api/analytics/summary", {})
        self.assertEqual(r.status, 405)

    def test_kafka_down_writes_succeed_and_nothing_is_lost(self):
        before = counts()
        ctl("stop", "kafka")
        try:
            ids = []
            for _ in range(5):
                r = request("POST", "/api/patients", new_patient())
                self.assertEqual(r.status, 201, r)
                ids.append(r.json()["id"])
            health = request("GET", "/health").json()
            self.assertGreaterEqual(health["checks"]["outbox"]["backlog"], 5)
        finally:
            ctl("start", "kafka")
        self.assertTrue(wait_until(lambda: len(events_for(ids)) == 5, timeout=90,
                                   interval=0.5), events_for(ids))
        self.assertEqual(set(events_for(ids).values()), {1})
        self.assertTrue(wait_until(lambda: request("GET", "/health").json()["checks"]
                                   ["outbox"]["backlog"] == 0, timeout=30))
        self.assertEqual(counts()["PATIENT_CREATED"] - before.get("PATIENT_CREATED", 0), 5)

    def _burst_with(self, program):
        before = counts()
        victim = program_pid(program)

        killed = []

        def kill():
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

        responses = burst(500, during=kill)
        self.assertEqual(killed, [victim], "the fault must happen mid-burst")
        self.assertEqual([r.status for r in responses], [201] * 500)
        ids = [r.json()["id"] for r in responses]
        self.assertTrue(wait_until(lambda: program_pid(program) not in (None, victim),
                                   timeout=20))
        self.assertTrue(wait_until(lambda: len(events_for(ids)) == 500, timeout=120,
                                   interval=0.5), len(events_for(ids)))
        self.assertEqual(set(events_for(ids).values()), {1})
        self.assertEqual(counts()["PATIENT_CREATED"] - before.get("PATIENT_CREATED", 0), 500)

    def test_analytics_killed_mid_burst_counts_stay_exact(self):
        self._burst_with("analytics")

    def test_relay_killed_mid_burst_every_event_arrives_once(self):
        self._burst_with("relay")

    def test_a_backlog_is_applied_in_batches_with_exact_counts(self):
        # analytics stopped while 60 patients are created and 30 of them
        # deleted; once the relay has published all 90 events, analytics
        # starts again and takes the backlog in batches (one statement and
        # one commit each: the rows of a batch share one received_at), each
        # event counted once, a patient created and deleted inside one
        # batch not left registered
        before = counts()
        ctl("stop", "analytics")
        try:
            ids = [request("POST", "/api/patients", new_patient()).json()["id"]
                   for _ in range(60)]
            for pid in ids[:30]:
                self.assertEqual(request("DELETE", "/api/patients/" + pid).status, 204)
            quoted = ",".join("'%s'" % i for i in ids)
            self.assertTrue(wait_until(lambda: sql(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
                " AND patient_id IN (%s)" % quoted) == [["0"]], timeout=30))
        finally:
            ctl("start", "analytics")
        self.assertTrue(wait_until(lambda: sum(events_for(ids).values()) == 90,
                                   timeout=60, interval=0.2), events_for(ids))
        self.assertEqual(set(events_for(ids[:30]).values()), {2})
        self.assertEqual(set(events_for(ids[30:]).values()), {1})
        after = counts()
        self.assertEqual(after["PATIENT_CREATED"] - before.get("PATIENT_CREATED", 0), 60)
        self.assertEqual(after["PATIENT_DELETED"] - before.get("PATIENT_DELETED", 0), 30)
        registered = {r[0] for r in analytics(
            "SELECT patient_id FROM registered_patient WHERE patient_id IN (%s)" % quoted)}
        self.assertEqual(registered, set(ids[30:]))
        [[commits]] = analytics("SELECT count(DISTINCT received_at) FROM event"
                                " WHERE patient_id IN (%s)" % quoted)
        self.assertLess(int(commits), 30, "90 events in %s commits" % commits)

    def test_garbage_is_recorded_and_skipped(self):
        key = "garbage-" + uuid.uuid4().hex
        subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", TOPIC, "-k", key],
                       input=b"\xff\xfe\x00 this is not a PatientEvent", check=True,
                       timeout=30)
        r = request("POST", "/api/patients", new_patient())
        pid = r.json()["id"]
        self.assertTrue(wait_until(lambda: events_for([pid]).get(pid) == 1, timeout=30))
        [(k, p, o)] = [m for m in topic_index() if m[0] == key]
        self.assertTrue(wait_until(lambda: analytics(
            "SELECT count(*) FROM undecodable WHERE kafka_partition = %s AND kafka_offset = %s"
            % (p, o)) == [["1"]], timeout=30))
        self.assertEqual(request("GET", "/api/analytics/summary").status, 200)

    def test_poison_event_does_not_stall_its_partition(self):
        # a PatientEvent-shaped message whose patientId is not UTF-8, on
        # the partition of a live patient: recorded, skipped, and the next
        # event of that patient still counted
        r = request("POST", "/api/patients", new_patient())
        pid = r.json()["id"]
        self.assertTrue(wait_until(lambda: events_for([pid]).get(pid) == 1, timeout=30))
        event_id = str(uuid.uuid4()).encode()
        poison = (b"\x0a\x03\xff\xfeA" + b"\x22\x0fPATIENT_CREATED"
                  + b"\x2a" + bytes([len(event_id)]) + event_id)
        subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", TOPIC, "-k", pid],
                       input=poison, check=True, timeout=30)
        self.assertEqual(request("PUT", "/api/patients/" + pid,
                                 new_patient(name="After The Poison")).status, 200)
        self.assertTrue(wait_until(lambda: events_for([pid]).get(pid) == 2, timeout=30))
        mine = [(p, o) for k, p, o in topic_index() if k == pid]
        self.assertEqual(len(mine), 3)
        self.assertEqual(len({p for p, o in mine}), 1, "one partition per patient")
        self.assertTrue(wait_until(lambda: analytics(
            "SELECT count(*) FROM undecodable WHERE (kafka_partition, kafka_offset)"
            " IN (%s)" % ",".join("(%s,%s)" % m for m in mine)) == [["1"]], timeout=30))

if __name__ == "__main__":
    unittest.main()
