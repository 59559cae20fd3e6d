"""FHIR R4 and the audit history, against the live stack through the
gateway.  Every FHIR resource and Bundle these tests receive is checked by
an independent validator, HAPI FHIR's R4 instance validator from Maven
Central (tests/fhir/Validate.java), with zero errors; a FHIR client library
from PyPI (fhirpy) creates, reads, searches with paging, updates with a
version check, reads the history and deletes.  The history tests check
versions, actors, the tombstone, paging, that it survives the delete, the
hash chain, and that the service's role cannot change or remove a record."""

import json
import os
import subprocess
import unittest
import uuid

from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import MultipleResourcesFound

from pmstest import ENV, HOST, PORT, SRC, default_token, request, sql, token_for

FHIR_JSON = "application/fhir+json"
EXT_REGISTERED = "https://pms.example.org/fhir/StructureDefinition/registered-date"
VALIDATOR = None


def setUpModule():
    global VALIDATOR
    VALIDATOR = Validator()


def tearDownModule():
    VALIDATOR.close()


class Validator:
    """One HAPI FHIR validator process for the module: a resource per line
    in, a JSON verdict per line out."""

    def __init__(self):
        env = dict(os.environ, PMS_CACHE=ENV["PMS_CACHE"])
        cmd = subprocess.run(["bash", os.path.join(SRC, "tests", "fhir", "build.sh")],
                             env=env, check=True, capture_output=True, text=True,
                             timeout=600).stdout.split()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, encoding="utf-8")
        assert json.loads(self.proc.stdout.readline())["ready"]
        self.checked = 0

    def errors(self, resource):
        self.proc.stdin.write(json.dumps(resource) + "\n")
        self.proc.stdin.flush()
        self.checked += 1
        return json.loads(self.proc.stdout.readline())["errors"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def fhir(method, path, body=None, headers=None, token=True):
    hdrs = {"Accept": FHIR_JSON}
    if body is not None:
        hdrs["Content-Type"] = FHIR_JSON
    hdrs.update(headers or {})
    return request(method, "/api/fhir" + path, body=body, headers=hdrs, token=token)


def patient_resource(tag, **over):
    r = {
        "resourceType": "Patient",
        "name": [{"given": ["Ada"], "family": "Lovelace-" + tag}],
        "telecom": [{"system": "email", "value": "ada-%s@example.com" % tag}],
        "address": [{"text": "12 St James's Square, London"}],
        "birthDate": "1815-12-10",
    }
    r.update(over)
    return r


class FhirCase(unittest.TestCase):

    def valid(self, resource):
        """Asserts the independent validator finds no error; returns it."""
        errors = VALIDATOR.errors(resource)
        self.assertEqual(errors, [], json.dumps(resource)[:500])
        return resource

    def received(self, r, status, ctype=FHIR_JSON):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.header("Content-Type").startswith(ctype), r.header("Content-Type"))
        return self.valid(r.json())

    def create(self, tag, **over):
        r = fhir("POST", "/Patient", patient_resource(tag, **over))
        return self.received(r, 201), r


class CapabilityAndRead(FhirCase):

    def test_metadata_needs_no_token_and_states_what_is_supported(self):
        cs = self.received(fhir("GET", "/metadata", token=False), 200)
        self.assertEqual(cs["resourceType"], "CapabilityStatement")
        self.assertEqual(cs["fhirVersion"], "4.0.1")
        res = cs["rest"][0]["resource"][0]
        self.assertEqual(res["type"], "Patient")
        self.assertEqual({i["code"] for i in res["interaction"]},
                         {"read", "vread", "update", "delete", "history-instance",
                          "create", "search-type"})
        self.assertEqual({p["name"] for p in res["searchParam"]},
                         {"_id", "name", "email", "birthdate"})

    def test_everything_else_needs_a_token(self):
        self.assertEqual(fhir("GET", "/Patient", token=False).status, 401)
        r = fhir("POST", "/Patient", patient_resource("ro"),
                 headers={"Authorization": "Bearer " + token_for("ms-readonly")}, token=False)
        self.assertEqual(r.status, 403)

    def test_create_maps_every_field_and_the_json_api_sees_the_same_patient(self):
        tag = uuid.uuid4().hex[:8]
        p, r = self.create(tag, extension=[{"url": EXT_REGISTERED, "valueDate": "2020-02-03"}])
        self.assertEqual(r.header("ETag"), 'W/"1"')
        self.assertRegex(r.header("Location"),
                         r"^http://[^/]+/api/fhir/Patient/%s/_history/1$" % p["id"])
        self.assertEqual(p["meta"]["versionId"], "1")
        self.assertEqual(p["name"][0], {"text": "Ada Lovelace-" + tag,
                                        "given": ["Ada"], "family": "Lovelace-" + tag})
        j = request("GET", "/api/patients/" + p["id"]).json()
        self.assertEqual(j["name"], "Ada Lovelace-" + tag)
        self.assertEqual(j["email"], "ada-%s@example.com" % tag)
        self.assertEqual(j["address"], "12 St James's Square, London")
        self.assertEqual(j["dateOfBirth"], "1815-12-10")
        self.assertEqual(j["registeredDate"], "2020-02-03")
        self.assertEqual(p["identifier"][0]["value"], j["billingAccountId"])
        self.assertEqual(p["meta"]["lastUpdated"], j["updatedAt"])
        # one store: an event went out and billing has the account
        self.assertEqual(sql("SELECT event_type FROM outbox WHERE patient_id = '%s'" % p["id"]),
                         [["PATIENT_CREATED"]])
        got = self.received(fhir("GET", "/Patient/" + p["id"]), 200)
        self.assertEqual(got, p)

    def test_format_json_is_honoured_and_xml_refused(self):
        p, _ = self.create(uuid.uuid4().hex[:8])
        self.received(fhir("GET", "/Patient/%s?_format=json" % p["id"]), 200)
        r = fhir("GET", "/Patient/%s?_format=xml" % p["id"])
        self.assertEqual(r.status, 406)
        self.valid(r.json())

    def test_unknown_and_bad_ids(self):
        r = fhir("GET", "/Patient/" + str(uuid.uuid4()))
        self.assertEqual(self.received(r, 404)["issue"][0]["code"], "not-found")
        self.received(fhir("GET", "/Patient/not-a-uuid"), 404)
        self.received(fhir("GET", "/Observation/1"), 404)


class Validation(FhirCase):

    def test_each_bad_element_is_listed_in_an_operation_outcome(self):
        body = patient_resource("bad", birthDate="2999-01-01",
                                telecom=[{"system": "email", "value": "not-an-email"}])
        out = self.received(fhir("POST", "/Patient", body), 400)
        self.assertEqual(out["resourceType"], "OperationOutcome")
        paths = {i["expression"][0] for i in out["issue"]}
        self.assertEqual(paths, {"Patient.birthDate", "Patient.telecom[0].value"})
        self.assertTrue(all(i["severity"] == "error" and i["code"] == "invalid"
                            for i in out["issue"]))

    def test_what_pms_cannot_keep_is_refused_not_dropped(self):
        for extra, path in (({"gender": "female"}, "Patient.gender"),
                            ({"telecom": [{"system": "phone", "value": "1"}]},
                             "Patient.telecom[0].system")):
            out = self.received(fhir("POST", "/Patient", patient_resource("x", **extra)), 400)
            self.assertIn(path, [i["expression"][0] for i in out["issue"]])

    def test_not_a_patient_malformed_json_and_wrong_type(self):
        self.received(fhir("POST", "/Patient", {"resourceType": "Observation"}), 400)
        r = request("POST", "/api/fhir/Patient", raw=b"{nope",
                    headers={"Content-Type": FHIR_JSON})
        self.received(r, 400)
        r = request("POST", "/api/fhir/Patient", raw=b"x", headers={"Content-Type": "text/plain"})
        self.assertEqual(self.received(r, 415)["issue"][0]["code"], "not-supported")

    def test_duplicate_email_is_409(self):
        tag = uuid.uuid4().hex[:8]
        self.create(tag)
        out = self.received(fhir("POST", "/Patient", patient_resource(tag)), 409)
        self.assertEqual(out["issue"][0]["code"], "duplicate")


class Search(FhirCase):

    def setUp(self):
        self.tag = uuid.uuid4().hex[:10]
        self.ids = []
        for i, dob in enumerate(("1950-01-01", "1960-06-15", "1970-12-31")):
            p, _ = self.create("%s%d" % (self.tag, i), birthDate=dob)
            self.ids.append(p["id"])

    def search(self, query):
        return self.received(fhir("GET", "/Patient?" + query), 200)

    def test_name_substring_case_insensitive_with_paging_and_total(self):
        b = self.search("name=LOVELACE-%s&_count=2&_total=accurate" % self.tag.upper())
        self.assertEqual(b["type"], "searchset")
        self.assertEqual(b["total"], 3)
        self.assertEqual(len(b["entry"]), 2)
        nxt = [link["url"] for link in b["link"] if link["relation"] == "next"]
        self.assertEqual(len(nxt), 1)
        page2 = self.received(request("GET", nxt[0].split(str(PORT), 1)[1],
                                      headers={"Accept": FHIR_JSON}), 200)
        self.assertEqual(len(page2["entry"]), 1)
        self.assertFalse([l for l in page2["link"] if l["relation"] == "next"])
        got = {e["resource"]["id"] for e in b["entry"] + page2["entry"]}
        self.assertEqual(got, set(self.ids))
        for e in b["entry"]:
            self.assertEqual(e["search"]["mode"], "match")
            self.assertTrue(e["fullUrl"].endswith("/api/fhir/Patient/" + e["resource"]["id"]))

    def test_birthdate_prefixes_email_and_id(self):
        def ids(q):
            return {e["resource"]["id"] for e in self.search(q).get("entry", [])}
        name = "name=lovelace-" + self.tag
        self.assertEqual(ids(name + "&birthdate=ge1960-06-15"), set(self.ids[1:]))
        self.assertEqual(ids(name + "&birthdate=le1960-06-15"), set(self.ids[:2]))
        self.assertEqual(ids(name + "&birthdate=eq1970-12-31"), {self.ids[2]})
        self.assertEqual(ids(name + "&birthdate=1950-01-01"), {self.ids[0]})
        self.assertEqual(ids(name + "&birthdate=ge1951-01-01&birthdate=le1969-01-01"),
                         {self.ids[1]})
        self.assertEqual(ids("email=ADA-%s1@example.com" % self.tag), {self.ids[1]})
        self.assertEqual(ids("_id=" + self.ids[2]), {self.ids[2]})
        self.assertEqual(ids("_id=" + str(uuid.uuid4())), set())

    def test_bad_search_parameters_are_400(self):
        for q in ("birthdate=gt1950-01-01", "birthdate=1950", "_count=0", "_count=501",
                  "name=a%1Fb", "name=", "_count", "name=%FF", "_id=%00",
                  "_id=nope", "email=nope", "gender=female", "_total=maybe",
                  "_cursor=garbage"):
            out = self.received(fhir("GET", "/Patient?" + q), 400)
            self.assertEqual(out["issue"][0]["code"], "invalid", q)


class Versions(FhirCase):

    def test_update_with_if_match_vread_and_412(self):
        tag = uuid.uuid4().hex[:8]
        p, _ = self.create(tag)
        p["address"] = [{"text": "Ockham Park"}]
        r = fhir("PUT", "/Patient/" + p["id"], p, headers={"If-Match": 'W/"1"'})
        p2 = self.received(r, 200)
        self.assertEqual(p2["meta"]["versionId"], "2")
        self.assertEqual(r.header("ETag"), 'W/"2"')
        self.assertEqual(sql("SELECT event_type FROM outbox WHERE patient_id = '%s'"
                             " ORDER BY seq" % p["id"]),
                         [["PATIENT_CREATED"], ["PATIENT_UPDATED"]])
        stale = fhir("PUT", "/Patient/" + p["id"], p, headers={"If-Match": 'W/"1"'})
        self.assertEqual(self.received(stale, 412)["issue"][0]["code"], "conflict")
        self.assertEqual(stale.header("ETag"), 'W/"2"')
        v1 = self.received(fhir("GET", "/Patient/%s/_history/1" % p["id"]), 200)
        self.assertEqual(v1["address"], [{"text": "12 St James's Square, London"}])
        self.assertEqual(v1["meta"]["versionId"], "1")
        self.received(fhir("GET", "/Patient/%s/_history/9" % p["id"]), 404)

    def test_update_id_must_match_and_unknown_is_404(self):
        p, _ = self.create(uuid.uuid4().hex[:8])
        body = dict(p, id=str(uuid.uuid4()))
        self.received(fhir("PUT", "/Patient/" + p["id"], body), 400)
        other = str(uuid.uuid4())
        self.received(fhir("PUT", "/Patient/" + other, dict(p, id=other)), 404)

    def test_history_bundle_then_delete_leaves_410_and_a_tombstone(self):
        tag = uuid.uuid4().hex[:8]
        p, _ = self.create(tag)
        p["address"] = [{"text": "Somewhere else"}]
        self.received(fhir("PUT", "/Patient/" + p["id"], p), 200)
        r = fhir("DELETE", "/Patient/" + p["id"])
        self.assertEqual(r.status, 204)
        self.assertEqual(sql("SELECT event_type FROM outbox WHERE patient_id = '%s'"
                             " ORDER BY seq" % p["id"])[-1], ["PATIENT_DELETED"])
        self.assertEqual(self.received(fhir("GET", "/Patient/" + p["id"]), 410)
                         ["issue"][0]["code"], "deleted")
        self.received(fhir("GET", "/Patient/%s/_history/3" % p["id"]), 410)
        h = self.received(fhir("GET", "/Patient/%s/_history" % p["id"]), 200)
        self.assertEqual(h["type"], "history")
        self.assertEqual([e["request"]["method"] for e in h["entry"]], ["DELETE", "PUT", "POST"])
        self.assertEqual([e["response"]["etag"] for e in h["entry"]],
                         ['W/"3"', 'W/"2"', 'W/"1"'])
        self.assertNotIn("resource", h["entry"][0])
        self.assertEqual(h["entry"][1]["resource"]["address"], [{"text": "Somewhere else"}])
        paged = self.received(fhir("GET", "/Patient/%s/_history?_count=2" % p["id"]), 200)
        nxt = [l["url"] for l in paged["link"] if l["relation"] == "next"][0]
        rest = self.received(request("GET", nxt.split(str(PORT), 1)[1]), 200)
        self.assertEqual([e["response"]["etag"] for e in rest["entry"]], ['W/"1"'])


class FhirClientLibrary(FhirCase):
    """fhirpy, a FHIR client from PyPI, against the live server."""

    def client(self, **headers):
        return SyncFHIRClient("http://%s:%d/api/fhir" % (HOST, PORT),
                              authorization="Bearer " + default_token(),
                              extra_headers=dict({"Accept": FHIR_JSON}, **headers))

    def test_create_read_search_update_history_delete(self):
        tag = uuid.uuid4().hex[:10]
        c = self.client()
        made = []
        for i in range(3):
            p = c.resource("Patient", **patient_resource("%s-%d" % (tag, i)))
            p.save()
            self.valid(p.serialize())
            made.append(p)
        read = c.reference("Patient", made[0].id).to_resource()
        self.assertEqual(read["telecom"][0]["value"], "ada-%s-0@example.com" % tag)
        found = c.resources("Patient").search(name="lovelace-" + tag).limit(2).fetch_all()
        self.assertEqual(sorted(r.id for r in found), sorted(p.id for p in made))
        # update with a version check: If-Match of the version read
        read["address"] = [{"text": "Ockham"}]
        versioned = self.client(**{"If-Match": 'W/"%s"' % read["meta"]["versionId"]})
        upd = versioned.resource("Patient", **read.serialize())
        upd.save()
        self.assertEqual(upd["meta"]["versionId"], "2")
        stale = versioned.resource("Patient", **read.serialize())
        # If-Match 1 again: 412, which fhirpy reports as it reads a 412
        # (FHIR's conditional writes use it for several matches)
        with self.assertRaises(MultipleResourcesFound) as e:
            stale.save()
        self.assertIn('"code":"conflict"', str(e.exception))
        history = c.execute("Patient/%s/_history" % made[0].id, method="get")
        self.valid(history)
        self.assertEqual([e["response"]["etag"] for e in history["entry"]], ['W/"2"', 'W/"1"'])
        for p in made:
            p.delete()
        self.assertEqual(c.resources("Patient").search(name="lovelace-" + tag).fetch_all(), [])


class AuditHistory(unittest.TestCase):
    """GET /api/patients/{id}/history and the table behind it."""

    def new(self):
        r = request("POST", "/api/patients", {
            "name": "Audit Person", "email": "audit-%s@example.com" % uuid.uuid4().hex[:12],
            "address": "1 Audit Road", "dateOfBirth": "1980-01-02"})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def test_n_updates_give_n_plus_1_versions_with_actors_and_a_tombstone(self):
        p = self.new()
        for n in range(1, 4):
            body = dict(p, address="%d Audit Road" % (n + 1))
            r = request("PUT", "/api/patients/" + p["id"], body, headers={"If-Match": '"%d"' % n})
            self.assertEqual(r.status, 200, r)
        r = request("DELETE", "/api/patients/" + p["id"],
                    headers={"X-Request-Id": "audit-delete-" + p["id"][:8]})
        self.assertEqual(r.status, 204)
        h = request("GET", "/api/patients/%s/history" % p["id"])
        self.assertEqual(h.status, 200, h)
        recs = h.json()
        self.assertEqual([x["version"] for x in recs], [5, 4, 3, 2, 1])
        self.assertEqual([x["operation"] for x in recs],
                         ["delete", "update", "update", "update", "create"])
        self.assertIsNone(recs[0]["patient"])
        self.assertEqual(recs[0]["requestId"], "audit-delete-" + p["id"][:8])
        self.assertEqual(recs[1]["patient"]["address"], "4 Audit Road")
        self.assertEqual(recs[4]["patient"]["address"], "1 Audit Road")
        subject = sql("SELECT actor_subject FROM patient_history WHERE patient_id = '%s'"
                      " AND version = 1" % p["id"])[0][0]
        for x in recs:
            self.assertEqual(x["actor"]["client"], "ms-api")
            self.assertEqual(x["actor"]["subject"], subject)
            self.assertRegex(x["requestId"], r"^[0-9A-Za-z._:-]+$")
        self.assertRegex(subject, r"^[0-9a-f-]{36}$")
        # the patient is gone; its history is not
        self.assertEqual(request("GET", "/api/patients/" + p["id"]).status, 404)
        self.assertEqual(sql("SELECT patient_history_verify('%s')" % p["id"]), [["t"]])

    def test_history_pages_with_a_cursor(self):
        p = self.new()
        for n in range(1, 5):
            request("PUT", "/api/patients/" + p["id"], dict(p, address="%d x" % n))
        first = request("GET", "/api/patients/%s/history?size=2" % p["id"])
        self.assertEqual([x["version"] for x in first.json()], [5, 4])
        nxt = first.header("Link").split(";")[0].strip("<>")
        second = request("GET", nxt)
        self.assertEqual([x["version"] for x in second.json()], [3, 2])
        third = request("GET", second.header("Link").split(";")[0].strip("<>"))
        self.assertEqual([x["version"] for x in third.json()], [1])
        self.assertIsNone(third.header("Link"))

    def test_bad_history_requests(self):
        self.assertEqual(request("GET", "/api/patients/%s/history" % uuid.uuid4()).status, 404)
        self.assertEqual(request("GET", "/api/patients/nope/history").status, 400)
        p = self.new()
        for q in ("size=0", "size=501", "cursor=x", "cursor=1", "other=1", "size=1&size=2"):
            self.assertEqual(request("GET", "/api/patients/%s/history?%s" % (p["id"], q)).status,
                             400, q)
        self.assertEqual(request("POST", "/api/patients/%s/history" % p["id"], {}).status, 405)
        self.assertEqual(request("GET", "/api/patients/%s/history" % p["id"],
                                 token=False).status, 401)

    def test_the_service_role_cannot_change_or_remove_a_record(self):
        p = self.new()
        where = "WHERE patient_id = '%s'" % p["id"]
        for stmt in ("UPDATE patient_history SET actor_client = 'forged' " + where,
                     "DELETE FROM patient_history " + where,
                     "TRUNCATE patient_history"):
            with self.assertRaises(subprocess.CalledProcessError) as e:
                sql(stmt)
            self.assertIn("append-only", e.exception.stderr, stmt)
        self.assertEqual(sql("SELECT actor_client FROM patient_history " + where), [["ms-api"]])
        # a version out of order is refused too: no gap, no rewrite
        with self.assertRaises(subprocess.CalledProcessError):
            sql("INSERT INTO patient_history (patient_id, version, operation, resource, hash)"
                " VALUES ('%s', 3, 'update', '{}', ''::bytea)" % p["id"])

    def test_an_edit_behind_the_service_breaks_the_hash_chain(self):
        p = self.new()
        request("PUT", "/api/patients/" + p["id"], dict(p, address="2 Chain Road"))
        self.assertEqual(sql("SELECT patient_history_verify('%s')" % p["id"]), [["t"]])
        # a superuser can switch the trigger off; the chain still tells
        sql("ALTER TABLE patient_history DISABLE TRIGGER patient_history_no_update;"
            " UPDATE patient_history SET actor_client = 'forged'"
            " WHERE patient_id = '%s' AND version = 1;"
            " ALTER TABLE patient_history ENABLE TRIGGER patient_history_no_update" % p["id"])
        self.assertEqual(sql("SELECT patient_history_verify('%s')" % p["id"]), [["f"]])


if __name__ == "__main__":
    unittest.main()
