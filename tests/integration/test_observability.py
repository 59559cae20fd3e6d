"""Operability through the real servers: every daemon's Prometheus metrics
on the gateway's loopback metrics listener, read with prometheus_client's
parser (an independent implementation of the text format), moving with the
traffic this test sends; and one W3C trace id followed from the gateway
through pms-patient, pms-billing, the outbox, the Kafka message headers
(read back with kcat), pms-relay and pms-analytics."""

import os
import re
import subprocess
import unittest
import urllib.error
import urllib.request
import uuid

from prometheus_client.parser import text_string_to_metric_families

from pmstest import ENV, ctl, new_patient, request, sql, wait_until

DAEMONS = ("patient", "auth", "billing", "relay", "analytics")
METRICS = "http://%s:%s" % (ENV["PMS_METRICS_ADDR"], ENV["PMS_METRICS_PORT"])
LOG = os.path.join(ENV["PMS_RUN"], "log")
BROKERS = ENV.get("PMS_KAFKA_BROKERS", "")
TOPIC = ENV.get("PMS_KAFKA_TOPIC", "patient")


def scrape(path="/metrics"):
    """{(sample name, frozenset of labels): value} of one scrape, parsed by
    prometheus_client, and the families' names with their types."""
    with urllib.request.urlopen(METRICS + path, timeout=10) as r:
        ctype = r.headers["Content-Type"]
        text = r.read().decode()
    samples, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types, ctype


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class MetricsTest(unittest.TestCase):

    def test_every_daemon_is_scraped_with_its_families(self):
        samples, types, ctype = scrape()
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        for d in DAEMONS:
            self.assertEqual(value(samples, "pms_%s_up" % d), 1.0, d)
            self.assertGreater(value(samples, "pms_%s_process_start_time_seconds" % d),
                               1.7e9, d)
        self.assertEqual(types["pms_patient_http_request_duration_seconds"], "histogram")
        self.assertEqual(types["pms_patient_http_requests"], "counter")
        self.assertEqual(types["pms_relay_outbox_backlog"], "gauge")
        self.assertEqual(types["pms_billing_grpc_server_calls"], "counter")
        # each daemon also alone, with only its own families
        for d in DAEMONS:
            alone, _, _ = scrape("/metrics/" + d)
            names = {n for n, _ in alone}
            self.assertTrue(names, d)
            self.assertTrue(all(n.startswith("pms_%s_" % d) for n in names), d)

    def test_counters_move_with_the_traffic(self):
        before, _, _ = scrape()
        missing = "/api/patients/" + str(uuid.uuid4())
        for _ in range(7):
            self.assertEqual(request("GET", missing).status, 404)
        created = request("POST", "/api/patients", new_patient())
        self.assertEqual(created.status, 201, created)
        pid = created.json()["id"]

        def after_events():
            s, _, _ = scrape()
            done = (value(s, "pms_analytics_events_consumed_total", type="PATIENT_CREATED")
                    > value(before, "pms_analytics_events_consumed_total",
                            type="PATIENT_CREATED"))
            return s if done else None
        after = wait_until(after_events, timeout=20, interval=0.5)
        self.assertIsNotNone(after, "analytics never counted the create")

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)
        route = "GET /patients/{id}"
        self.assertEqual(delta("pms_patient_http_requests_total", route=route, status="404"), 7)
        self.assertEqual(delta("pms_patient_http_request_duration_seconds_count", route=route), 7)
        self.assertEqual(delta("pms_patient_http_request_duration_seconds_bucket",
                               route=route, le="+Inf"), 7)
        self.assertGreater(delta("pms_patient_http_request_duration_seconds_sum", route=route), 0)
        self.assertEqual(delta("pms_patient_http_requests_total", route="POST /patients",
                               status="201"), 1)
        create = "/BillingService/CreateBillingAccount"
        self.assertEqual(delta("pms_patient_grpc_client_calls_total", method=create,
                               code="OK"), 1)
        self.assertEqual(delta("pms_billing_grpc_server_calls_total", method=create,
                               code="OK"), 1)
        self.assertGreaterEqual(delta("pms_relay_events_delivered_total"), 1)
        self.assertGreaterEqual(delta("pms_auth_http_requests_total"), 0)
        # the relay's gauges are live numbers, not left at zero by default
        self.assertIn(("pms_relay_outbox_backlog", frozenset()), after)
        self.assertEqual(request("DELETE", "/api/patients/" + pid).status, 204)

    def test_auth_helper_counts_its_answers(self):
        before, _, _ = scrape()
        r = request("GET", "/api/patients", token=False,
                    headers={"Authorization": "Bearer not.a.token"})
        self.assertEqual(r.status, 401)
        after, _, _ = scrape()
        self.assertEqual(
            value(after, "pms_auth_http_requests_total", route="check patient-reader",
                  status="401")
            - value(before, "pms_auth_http_requests_total", route="check patient-reader",
                    status="401"), 1)

    def test_metrics_are_not_on_the_public_port(self):
        for path in ("/metrics", "/metrics/patient", "/api/metrics"):
            self.assertIn(request("GET", path).status, (401, 404), path)
        listen = subprocess.run(["ss", "-Hltn", "sport = :%s" % ENV["PMS_METRICS_PORT"]],
                                capture_output=True, text=True).stdout.split()
        self.assertIn("%s:%s" % (ENV["PMS_METRICS_ADDR"], ENV["PMS_METRICS_PORT"]), listen)
        self.assertEqual(ENV["PMS_METRICS_ADDR"], "127.0.0.1")

    def test_a_daemon_that_is_down_shows_up_zero(self):
        self.assertIn("stopped", ctl("stop", "relay").stdout)
        try:
            samples, _, _ = scrape()
            self.assertEqual(value(samples, "pms_relay_up"), 0.0)
            self.assertEqual(value(samples, "pms_patient_up"), 1.0)
            with self.assertRaises(urllib.error.HTTPError) as e:
                scrape("/metrics/relay")
            self.assertEqual(e.exception.code, 502)
        finally:
            self.assertIn("started", ctl("start", "relay").stdout)
        self.assertTrue(wait_until(lambda: value(scrape()[0], "pms_relay_up") == 1.0))


def log_lines(name, needle):
    with open(os.path.join(LOG, name), errors="replace") as f:
        return [line for line in f if needle in line]


class TraceTest(unittest.TestCase):

    def create(self, traceparent=None):
        headers = {"traceparent": traceparent} if traceparent else {}
        r = request("POST", "/api/patients", new_patient(), headers=headers)
        self.assertEqual(r.status, 201, r)
        return r

    def test_one_trace_id_through_every_process_and_the_kafka_headers(self):
        trace = uuid.uuid4().hex
        sent_span = uuid.uuid4().hex[:16]
        r = self.create("00-%s-%s-01" % (trace, sent_span))
        pid = r.json()["id"]
        # nginx writes its access log within a second (buffered)
        self.assertTrue(wait_until(lambda: log_lines("nginx-access.log", trace), timeout=5),
                        "nginx access log")
        for name in ("patient.log", "billing.log", "relay.log", "analytics.log"):
            lines = wait_until(lambda: log_lines(name, '"trace_id":"%s"' % trace), timeout=20)
            self.assertTrue(lines, "no line of %s has the trace id" % name)
        patient = log_lines("patient.log", trace)
        self.assertTrue(any('"patient_id":"%s"' % pid in line for line in patient))
        # the outbox row keeps the patient's span of the trace
        stored = sql("SELECT traceparent FROM outbox WHERE patient_id = '%s'" % pid)
        self.assertEqual(len(stored), 1)
        self.assertRegex(stored[0][0], r"^00-%s-[0-9a-f]{16}-01$" % trace)
        self.assertNotIn(sent_span, stored[0][0])
        # the relay's line names where the event went; kcat reads its headers
        delivered = [line for line in log_lines("relay.log", trace) if "event delivered" in line]
        self.assertEqual(len(delivered), 1, delivered)
        part = re.search(r'"partition":(\d+)', delivered[0]).group(1)
        off = re.search(r'"offset":(\d+)', delivered[0]).group(1)
        headers = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", TOPIC, "-p", part,
                                  "-o", off, "-c", "1", "-e", "-q", "-f", "%h\\n%k\\n"],
                                 capture_output=True, text=True, timeout=30).stdout.split("\n")
        self.assertRegex(headers[0], r"^traceparent=00-%s-[0-9a-f]{16}-01$" % trace)
        self.assertEqual(headers[1], pid)
        self.assertNotIn(stored[0][0].split("-")[2], headers[0])  # the relay's own span
        self.assertEqual(request("DELETE", "/api/patients/" + pid).status, 204)

    def test_without_a_traceparent_the_gateway_starts_one(self):
        r = self.create()
        pid = r.json()["id"]
        request_id = r.header("X-Request-Id")
        self.assertRegex(request_id, r"^[0-9a-f]{32}$")
        stored = sql("SELECT traceparent FROM outbox WHERE patient_id = '%s'" % pid)
        # the trace id is the request id; not sampled, so the relay and
        # analytics add no line per event for it
        self.assertRegex(stored[0][0], r"^00-%s-[0-9a-f]{16}-00$" % request_id)
        self.assertTrue(wait_until(lambda: log_lines("patient.log", request_id), timeout=5))
        self.assertTrue(wait_until(
            lambda: sql("SELECT 1 FROM outbox WHERE patient_id = '%s'"
                        " AND published_at IS NOT NULL" % pid), timeout=20))
        self.assertEqual(log_lines("relay.log", request_id), [])
        self.assertEqual(request("DELETE", "/api/patients/" + pid).status, 204)

    def test_a_malformed_traceparent_starts_a_new_trace(self):
        trace = uuid.uuid4().hex
        for bad in ("00-%s-%s-01" % (trace.upper(), "00f067aa0ba902b7"),
                    "00-%s-0000000000000000-01" % trace,
                    "ff-%s-00f067aa0ba902b7-01" % trace,
                    "00-%s-00f067aa0ba902b7-01-extra" % trace):
            r = self.create(bad)
            stored = sql("SELECT traceparent FROM outbox WHERE patient_id = '%s'"
                         % r.json()["id"])
            self.assertNotIn(trace, stored[0][0].lower(), bad)
            self.assertIn(r.header("X-Request-Id"), stored[0][0], bad)
            request("DELETE", "/api/patients/" + r.json()["id"])

    def test_a_later_version_keeps_its_trace(self):
        trace = uuid.uuid4().hex
        r = self.create("01-%s-00f067aa0ba902b7-01-future-field" % trace)
        stored = sql("SELECT traceparent FROM outbox WHERE patient_id = '%s'" % r.json()["id"])
        self.assertRegex(stored[0][0], r"^00-%s-[0-9a-f]{16}-01$" % trace)
        request("DELETE", "/api/patients/" + r.json()["id"])


if __name__ == "__main__":
    unittest.main()
