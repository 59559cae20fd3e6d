"""Regressions: one test per defect found by the independent probe and
the code review (issue 11), and by schemathesis against the OpenAPI
document (issue 14).  Each failed against the code before its fix."""

import socket
import subprocess
import unittest
import urllib.parse
import uuid

from pmstest import (ENV, HOST, PORT, SRC, ctl, links, new_patient,
                     program_pid, request, sql, wait_until)

PROBLEM = "application/problem+json"


def raw_http(data, timeout=10):
    """Sends bytes to the gateway and returns (status, headers, body)."""
    with socket.create_connection((HOST, PORT), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


class LinkHeaderFromLongQuery(unittest.TestCase):
    """Was: Link cut at 199 bytes (no rel, no last), or empty, for a q
    whose percent-encoding is long: a stack over-read in api_link()."""

    QUERIES = ("Александра Константиновна Преображенская",
               "é" * 100, "\U0001F600" * 100)

    def test_every_link_is_whole_and_q_round_trips(self):
        for q in self.QUERIES:
            r = request("GET", "/api/patients?size=1&q=" + urllib.parse.quote(q))
            self.assertEqual(r.status, 200, r)
            rels = links(r.header("Link"))
            self.assertIn("first", rels, r.header("Link"))
            self.assertIn("last", rels, r.header("Link"))
            for rel, url in rels.items():
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
                self.assertEqual(query["q"], [q], rel)
                self.assertEqual(query["size"], ["1"], rel)

    def test_next_page_of_a_long_query_is_followable(self):
        name = "Ёжиков Преображенский-" + uuid.uuid4().hex[:6]
        for i in range(3):
            self.assertEqual(request("POST", "/api/patients",
                                     new_patient(name="%s %d" % (name, i))).status, 201)
        r = request("GET", "/api/patients?size=1&q=" + urllib.parse.quote(name))
        self.assertEqual(r.header("X-Total-Count"), "3")
        seen = [r.json()[0]["name"]]
        while "next" in links(r.header("Link")):
            nxt = urllib.parse.urlsplit(links(r.header("Link"))["next"])
            r = request("GET", "%s?%s" % (nxt.path, nxt.query))
            self.assertEqual(r.status, 200, r)
            seen.append(r.json()[0]["name"])
        self.assertEqual(sorted(seen), ["%s %d" % (name, i) for i in range(3)])


class StoredDatesOnUpdate(unittest.TestCase):
    """Was: a PUT without registeredDate could store a birth date after the
    stored registration date (the rule ran only when both were sent)."""

    def create(self):
        r = request("POST", "/api/patients", new_patient(
            dateOfBirth="2000-01-01", registeredDate="2010-01-01"))
        self.assertEqual(r.status, 201, r)
        return r.json()

    def stored(self, pid):
        return sql("SELECT date_of_birth, registered_date FROM patient"
                   " WHERE id = '%s'" % pid)[0]

    def test_put_birth_after_stored_registration_is_400_and_nothing_changes(self):
        p = self.create()
        body = {k: p[k] for k in ("name", "email", "address")}
        body["dateOfBirth"] = "2020-01-01"
        r = request("PUT", "/api/patients/" + p["id"], body)
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.header("Content-Type"), PROBLEM)
        self.assertEqual([e["field"] for e in r.json()["errors"]], ["registeredDate"])
        self.assertEqual(self.stored(p["id"]), ["2000-01-01", "2010-01-01"])
        self.assertEqual(request("GET", "/api/patients/" + p["id"]).header("ETag"),
                         '"1"')

    def test_put_within_the_rule_still_works(self):
        p = self.create()
        body = {k: p[k] for k in ("name", "email", "address")}
        body["dateOfBirth"] = "2005-05-05"
        r = request("PUT", "/api/patients/" + p["id"], body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.stored(p["id"]), ["2005-05-05", "2010-01-01"])
        body["dateOfBirth"] = "2020-01-01"
        body["registeredDate"] = "2021-01-01"
        self.assertEqual(request("PUT", "/api/patients/" + p["id"], body).status, 200)
        self.assertEqual(self.stored(p["id"]), ["2020-01-01", "2021-01-01"])

    def test_the_database_refuses_it_too(self):
        p = self.create()
        with self.assertRaises(subprocess.CalledProcessError) as cm:
            sql("UPDATE patient SET date_of_birth = '2020-01-01' WHERE id = '%s'" % p["id"])
        self.assertIn("patient_registered_after_birth", cm.exception.stderr)
        self.assertEqual(self.stored(p["id"]), ["2000-01-01", "2010-01-01"])


class ErrorsThatCannotBeDescribed(unittest.TestCase):
    """Was: a parameter name that is not UTF-8 answered 200 (its error
    entry could not be built, so it was never counted)."""

    def test_non_utf8_parameter_name_is_400_and_named(self):
        for qs, field in (("size=1&%FF=1", "%FF"), ("%FF%FE=x", "%FF%FE"),
                          ("size=1&a%C3=1", "a%C3")):
            r = request("GET", "/api/patients?" + qs)
            self.assertEqual(r.status, 400, (qs, r))
            self.assertEqual(r.header("Content-Type"), PROBLEM)
            self.assertIn(field, [e["field"] for e in r.json()["errors"]], qs)

    def test_non_utf8_value_is_400(self):
        r = request("GET", "/api/patients?q=%FF%FE")
        self.assertEqual(r.status, 400, r)
        self.assertEqual([e["field"] for e in r.json()["errors"]], ["q"])


class GatewayOwnErrorsAreProblems(unittest.TestCase):
    """Was: nginx answered 414, 501 and 505 with its HTML page."""

    def assert_problem(self, data, status):
        got, headers, body = raw_http(data)
        self.assertEqual(got, status, body[:200])
        self.assertEqual(headers.get("content-type"), PROBLEM, headers)
        self.assertNotIn(b"<html", body)
        self.assertIn(b'"status":%d' % status, body)

    def test_uri_too_long_is_414(self):
        self.assert_problem(b"GET /api/patients?q=" + b"a" * 70000
                            + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)

    def test_unknown_transfer_coding_is_501(self):
        self.assert_problem(b"POST /api/patients HTTP/1.1\r\nHost: x\r\n"
                            b"Transfer-Encoding: gzip, chunked\r\n"
                            b"Content-Type: application/json\r\n\r\n0\r\n\r\n", 501)

    def test_http_2_request_line_is_505(self):
        self.assert_problem(b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505)


@unittest.skipUnless(ENV.get("PMS_KAFKA_TLS_PORT"), "no TLS listener in this stack")
class FoundBySchemathesis(unittest.TestCase):
    """Defects schemathesis found once the API was described (issue 14)."""

    def test_the_gateways_own_405_names_what_is_allowed(self):
        # was: no Allow header (RFC 9110 requires one)
        for method, path, allow in (("TRACE", "/health", "GET, HEAD"),
                                    ("POST", "/api/openapi.json", "GET, HEAD"),
                                    ("TRACE", "/api/patients", "GET, HEAD, POST"),
                                    ("TRACE", "/api/patients/%s" % uuid.uuid4(),
                                     "GET, HEAD, PUT, DELETE")):
            status, headers, _ = raw_http(("%s %s HTTP/1.1\r\nHost: x\r\n"
                                           "Connection: close\r\n\r\n"
                                           % (method, path)).encode())
            self.assertEqual(status, 405, path)
            self.assertEqual(headers.get("allow"), allow, path)

    def test_pms_auth_down_is_503_with_every_header(self):
        # was: 500 "the token could not be checked" (and the 503 for a
        # missing identity provider lost X-Request-Id and nosniff)
        # a token the gateway has not cached an acceptance of
        tok = subprocess.run([SRC + "/pms", "token"], check=True, capture_output=True,
                             text=True).stdout.strip()
        self.assertIn("stopped", ctl("stop", "auth").stdout)
        try:
            r = request("GET", "/api/patients?size=1", token=False,
                        headers={"Authorization": "Bearer " + tok})
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.header("Retry-After"), "10")
            self.assertTrue(r.header("X-Request-Id"))
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
            self.assertEqual(r.header("Content-Type"), PROBLEM)
        finally:
            self.assertIn("started", ctl("start", "auth").stdout)
        self.assertTrue(wait_until(lambda: request("GET", "/api/patients?size=1").status == 200))

    def test_delete_honours_if_match(self):
        # was: DELETE with a stale If-Match deleted anyway (204)
        r = request("POST", "/api/patients", new_patient())
        pid = r.json()["id"]
        stale = request("DELETE", "/api/patients/" + pid, headers={"If-Match": '"7"'})
        self.assertEqual(stale.status, 412, stale)
        self.assertEqual(stale.header("ETag"), '"1"')
        self.assertEqual(request("GET", "/api/patients/" + pid).status, 200)
        self.assertEqual(request("DELETE", "/api/patients/" + pid,
                                 headers={"If-Match": '"1"'}).status, 204)

    def test_a_long_id_is_400_like_any_other_non_uuid(self):
        # was: 404 for a path id of 64 bytes or more
        for path in ("/api/patients/" + "a" * 64, "/api/patients/%s/history" % ("b" * 80)):
            r = request("GET", path)
            self.assertEqual(r.status, 400, path)
            self.assertEqual(r.json()["errors"][0]["field"], "id")

    def test_control_characters_in_name_and_address_are_400(self):
        # was: stored as sent (a bell, an escape sequence in a patient's name)
        for field, value in (("name", "Ada\u0007"), ("address", "1 Road\u001b[31m"),
                             ("name", "Ada\u007f")):
            r = request("POST", "/api/patients", new_patient(**{field: value}))
            self.assertEqual(r.status, 400, (field, r))
            self.assertIn(field, [e["field"] for e in r.json()["errors"]])


class KafkaOverTls(unittest.TestCase):
    """Was: PMS_KAFKA_SECURITY_PROTOCOL (set by the cloud layout for MSK)
    was read by no daemon, so both spoke plaintext to a TLS listener.
    relay-tls and analytics-tls are the same binaries configured only by
    those variables, against the broker's SSL listener."""

    TLS = "127.0.0.1:%s" % ENV.get("PMS_KAFKA_TLS_PORT")
    CA = "%s/kafka/tls/ca.pem" % ENV.get("PMS_RUN")

    def test_tls_listener_refuses_plaintext_and_accepts_tls(self):
        plain = subprocess.run(["kcat", "-b", self.TLS, "-L", "-m", "3"],
                               capture_output=True, text=True, timeout=30)
        self.assertNotEqual(plain.returncode, 0, plain.stdout)
        tls = subprocess.run(["kcat", "-b", self.TLS, "-X", "security.protocol=ssl",
                              "-X", "ssl.ca.location=" + self.CA, "-L", "-m", "10",
                              "-t", ENV["PMS_KAFKA_TOPIC"]],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(tls.returncode, 0, tls.stderr)
        self.assertIn("ssl://", tls.stdout)

    def test_relay_and_analytics_reach_kafka_with_ssl(self):
        self.assertEqual(ctl("stop", "relay", "analytics").returncode, 0)
        try:
            ctl("start", "relay-tls", "analytics-tls")
            self.assertTrue(wait_until(lambda: program_pid("relay-tls")
                                       and program_pid("analytics-tls"), timeout=20))
            r = request("POST", "/api/patients", new_patient(name="Over TLS"))
            self.assertEqual(r.status, 201, r)
            pid = r.json()["id"]
            self.assertTrue(wait_until(lambda: sql(
                "SELECT count(*) FROM event WHERE patient_id = '%s'" % pid,
                db="analytics") == [["1"]], timeout=60, interval=0.5))
            self.assertEqual(sql("SELECT count(*) FROM outbox WHERE patient_id = '%s'"
                                 " AND published_at IS NULL" % pid), [["0"]])
            for name in ("relay-tls", "analytics-tls"):
                with open("%s/log/%s.log" % (ENV["PMS_RUN"], name)) as f:
                    self.assertIn("127.0.0.1:%s (ssl)" % ENV["PMS_KAFKA_TLS_PORT"],
                                  f.read())
        finally:
            ctl("stop", "relay-tls", "analytics-tls")
            ctl("start", "relay", "analytics")


if __name__ == "__main__":
    unittest.main()
