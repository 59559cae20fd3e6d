"""Bad input through the gateway: every malformed request gets a 4xx
problem+json naming what is wrong, and never a 500."""

import unittest
import uuid

from pmstest import new_patient, request, sql

PROBLEM = "application/problem+json"


class BadInput(unittest.TestCase):

    def post_raw(self, raw, content_type="application/json"):
        return request("POST", "/api/patients", raw=raw,
                       headers={"Content-Type": content_type})

    def assert_problem(self, r, status, fields=()):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("Content-Type"), PROBLEM, r)
        problem = r.json()
        self.assertEqual(problem["status"], status)
        got = {e["field"] for e in problem.get("errors", [])}
        for field in fields:
            self.assertIn(field, got, problem)
        return problem

    def test_malformed_json(self):
        for raw in (b"{", b"{\"name\": }", b"nul", b"{\"a\":1}}", b"\xff\xfe",
                    b"{\"name\": \"\\ud800\"}"):
            p = self.assert_problem(self.post_raw(raw), 400)
            self.assertIn("JSON", p["detail"])

    def test_array_and_scalar_bodies(self):
        for raw in (b"[]", b"[{\"name\": \"x\"}]", b"\"text\"", b"42", b"null"):
            self.assert_problem(self.post_raw(raw), 400, ["$"])

    def test_wrong_types_name_the_field(self):
        body = new_patient(name=5, email=["a@example.com"], address={"x": 1},
                           dateOfBirth=19800102)
        p = self.assert_problem(request("POST", "/api/patients", body), 400,
                                ["name", "email", "address", "dateOfBirth"])
        self.assertTrue(all("string" in e["message"] for e in p["errors"]))

    def test_unknown_fields(self):
        self.assert_problem(request("POST", "/api/patients",
                                    new_patient(phone="123", isAdmin=True)),
                            400, ["phone", "isAdmin"])

    def test_duplicate_keys(self):
        raw = b'{"name":"a","name":"b","email":"x@example.com","address":"x","dateOfBirth":"1990-01-01"}'
        self.assert_problem(self.post_raw(raw), 400)

    def test_missing_and_blank_fields_listed_together(self):
        p = self.assert_problem(request("POST", "/api/patients", {}), 400,
                                ["name", "email", "address", "dateOfBirth"])
        self.assertEqual(len(p["errors"]), 4)
        p = self.assert_problem(request("POST", "/api/patients",
                                        {"name": " ", "email": "", "address": "\t",
                                         "dateOfBirth": None}), 400,
                                ["name", "email", "address", "dateOfBirth"])
        self.assertEqual(len(p["errors"]), 4)

    def test_bad_emails(self):
        for email in ("plainaddress", "@example.com", "a@b", "a b@example.com",
                      "a@@example.com", "x" * 250 + "@example.com"):
            self.assert_problem(request("POST", "/api/patients",
                                        new_patient(email=email)), 400, ["email"])

    def test_bad_dates(self):
        for dob in ("15/06/1985", "1985-6-15", "2023-02-30", "2023-02-29",
                    "1985-06-15T00:00:00Z", "2999-01-01", "yesterday"):
            self.assert_problem(request("POST", "/api/patients",
                                        new_patient(dateOfBirth=dob)), 400,
                                ["dateOfBirth"])
        self.assert_problem(request("POST", "/api/patients",
                                    new_patient(registeredDate="2024-13-01")),
                            400, ["registeredDate"])
        self.assert_problem(request("POST", "/api/patients",
                                    new_patient(dateOfBirth="2000-01-02",
                                                registeredDate="1999-01-01")),
                            400, ["registeredDate"])

    def test_too_long_values(self):
        self.assert_problem(request("POST", "/api/patients",
                                    new_patient(name="n" * 101,
                                                address="a" * 256)),
                            400, ["name", "address"])

    def test_nothing_persisted_for_rejected_bodies(self):
        email = "rejected-%s@example.com" % uuid.uuid4().hex[:8]
        request("POST", "/api/patients", new_patient(email=email, dateOfBirth="x"))
        self.assertEqual(sql("SELECT count(*) FROM patient WHERE email = '%s'"
                             % email), [["0"]])

    def test_body_over_64_kib_is_413(self):
        big = new_patient(address="a" * (70 * 1024))
        r = request("POST", "/api/patients", big)
        self.assert_problem(r, 413)
        r = self.post_raw(b" " * (64 * 1024 + 1))
        self.assert_problem(r, 413)

    def test_body_just_under_64_kib_is_parsed(self):
        raw = b'{"name":"x"' + b" " * (60 * 1024) + b"}"
        self.assert_problem(self.post_raw(raw), 400, ["email"])

    def test_wrong_content_type_is_415(self):
        for ctype in ("text/plain", "application/x-www-form-urlencoded",
                      "application/jsonx", ""):
            r = request("POST", "/api/patients", raw=b'{"name":"x"}',
                        headers={"Content-Type": ctype} if ctype else {})
            self.assert_problem(r, 415)

    def test_missing_body_is_400(self):
        self.assert_problem(self.post_raw(b""), 400)

    def test_unknown_paths_are_404_problem(self):
        # "/" is the staff console (tests/browser); a file it lacks is a 404
        for path in ("/api/nothing", "/api/patientsx", "/nothing", "/index.htm",
                     "/assets/nothing.js", "/api/patients/%s/extra" % uuid.uuid4(), "/api/"):
            self.assert_problem(request("GET", path), 404)

    def test_wrong_methods_are_405_with_allow(self):
        r = request("DELETE", "/api/patients")
        self.assert_problem(r, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD, POST")
        r = request("PATCH", "/api/patients/" + str(uuid.uuid4()),
                    new_patient())
        self.assert_problem(r, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD, PUT, DELETE")
        r = request("POST", "/api/patients/" + str(uuid.uuid4()), new_patient())
        self.assert_problem(r, 405)
        r = request("POST", "/health", {})
        self.assert_problem(r, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD")


class Gateway(unittest.TestCase):

    def test_health_is_open_and_json(self):
        r = request("GET", "/health", token=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "UP")
        self.assertEqual(r.json()["checks"]["database"], "UP")

    def test_request_id_generated_or_kept(self):
        r = request("GET", "/health")
        self.assertRegex(r.header("X-Request-Id"), r"^[0-9a-f]{32}$")
        r = request("GET", "/health", headers={"X-Request-Id": "abc-123"})
        self.assertEqual(r.header("X-Request-Id"), "abc-123")
        r = request("GET", "/health", headers={"X-Request-Id": "bad id\"{"})
        self.assertRegex(r.header("X-Request-Id"), r"^[0-9a-f]{32}$")

    def test_security_headers(self):
        r = request("GET", "/api/patients")
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("Server"), "nginx")
        self.assertEqual(r.header("Cache-Control"), "no-store")


if __name__ == "__main__":
    unittest.main()
