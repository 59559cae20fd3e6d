"""The patient API through the gateway: every endpoint, every status, the
JSON shape, headers, pagination and search, against the live stack."""

import datetime
import unittest
import uuid

from pmstest import follow, links, new_patient, request, sql, unique_email

PROBLEM = "application/problem+json"


def today_utc():
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


class PatientCrud(unittest.TestCase):

    def create(self, **overrides):
        r = request("POST", "/api/patients", new_patient(**overrides))
        self.assertEqual(r.status, 201, r)
        return r

    def test_create_returns_201_with_location_etag_and_body(self):
        body = new_patient(name="Ada Lovelace", dateOfBirth="1815-12-10")
        r = request("POST", "/api/patients", body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        p = r.json()
        self.assertEqual(r.header("Location"), "/api/patients/" + p["id"])
        self.assertEqual(r.header("ETag"), '"1"')
        uuid.UUID(p["id"])
        for key in ("name", "email", "address", "dateOfBirth"):
            self.assertEqual(p[key], body[key])
        self.assertEqual(p["registeredDate"], today_utc())
        self.assertRegex(p["createdAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(p["createdAt"], p["updatedAt"])
        self.assertEqual(set(p), {"id", "name", "email", "address",
                                  "dateOfBirth", "registeredDate",
                                  "billingAccountId", "createdAt",
                                  "updatedAt", "createdBy", "updatedBy"})
        rows = sql("SELECT name, email, date_of_birth FROM patient WHERE id = '%s'"
                   % p["id"])
        self.assertEqual(rows, [["Ada Lovelace", body["email"], "1815-12-10"]])

    def test_create_keeps_given_registered_date(self):
        p = self.create(registeredDate="2024-11-28").json()
        self.assertEqual(p["registeredDate"], "2024-11-28")

    def test_get_by_id(self):
        created = self.create()
        p = created.json()
        r = request("GET", "/api/patients/" + p["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), p)
        self.assertEqual(r.header("ETag"), created.header("ETag"))
        self.assertEqual(r.header("Cache-Control"), "no-store")

    def test_get_unknown_is_404_problem(self):
        r = request("GET", "/api/patients/" + str(uuid.uuid4()))
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("Content-Type"), PROBLEM)
        problem = r.json()
        self.assertEqual(problem["status"], 404)
        self.assertEqual(problem["title"], "Not Found")
        self.assertIn("type", problem)
        self.assertIn("detail", problem)

    def test_non_uuid_id_is_400_never_500(self):
        for bad in ("123", "not-a-uuid", "1%27%20OR%20%271%27%3D%271",
                    "123e4567-e89b-12d3-a456-42661417400Z"):
            for method in ("GET", "PUT", "DELETE"):
                body = new_patient() if method == "PUT" else None
                r = request(method, "/api/patients/" + bad, body)
                self.assertEqual(r.status, 400, (method, bad, r))
                self.assertEqual(r.json()["errors"][0]["field"], "id")

    def test_update_replaces_fields_and_bumps_etag(self):
        p = self.create().json()
        change = new_patient(name="Renamed Person", address="2 New Road")
        r = request("PUT", "/api/patients/" + p["id"], change)
        self.assertEqual(r.status, 200, r)
        q = r.json()
        self.assertEqual(q["name"], "Renamed Person")
        self.assertEqual(q["email"], change["email"])
        self.assertEqual(q["registeredDate"], p["registeredDate"])
        self.assertEqual(q["createdAt"], p["createdAt"])
        self.assertEqual(r.header("ETag"), '"2"')
        self.assertEqual(request("GET", "/api/patients/" + p["id"]).json(), q)

    def test_update_accepts_a_fetched_body_back(self):
        p = self.create().json()
        p["name"] = "Round Trip"
        r = request("PUT", "/api/patients/" + p["id"], p)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["name"], "Round Trip")

    def test_if_match(self):
        p = self.create().json()
        url = "/api/patients/" + p["id"]
        stale = request("PUT", url, new_patient(name="Stale"),
                        headers={"If-Match": '"7"'})
        self.assertEqual(stale.status, 412, stale)
        self.assertEqual(stale.header("Content-Type"), PROBLEM)
        self.assertEqual(stale.header("ETag"), '"1"')
        self.assertEqual(sql("SELECT name, version FROM patient WHERE id = '%s'"
                             % p["id"]), [[p["name"], "1"]])
        ok = request("PUT", url, new_patient(name="Fresh"),
                     headers={"If-Match": '"1"'})
        self.assertEqual(ok.status, 200, ok)
        again = request("PUT", url, new_patient(name="Again"),
                        headers={"If-Match": '"1"'})
        self.assertEqual(again.status, 412)
        star = request("PUT", url, new_patient(name="Star"),
                       headers={"If-Match": "*"})
        self.assertEqual(star.status, 200)

    def test_update_unknown_is_404(self):
        r = request("PUT", "/api/patients/" + str(uuid.uuid4()), new_patient())
        self.assertEqual(r.status, 404)

    def test_delete(self):
        p = self.create().json()
        url = "/api/patients/" + p["id"]
        r = request("DELETE", url)
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, b"")
        self.assertEqual(request("GET", url).status, 404)
        self.assertEqual(request("DELETE", url).status, 404)
        self.assertEqual(sql("SELECT count(*) FROM patient WHERE id = '%s'"
                             % p["id"]), [["0"]])

    def test_duplicate_email_is_409_case_insensitive(self):
        email = unique_email("dup")
        self.create(email=email)
        r = request("POST", "/api/patients", new_patient(email=email.upper()))
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json()["errors"][0]["field"], "email")
        self.assertEqual(sql("SELECT count(*) FROM patient WHERE lower(email) = '%s'"
                             % email), [["1"]])

    def test_update_to_taken_email_is_409(self):
        a = self.create().json()
        b = self.create().json()
        r = request("PUT", "/api/patients/" + b["id"],
                    new_patient(email=a["email"]))
        self.assertEqual(r.status, 409, r)

    def test_sql_metacharacters_and_unicode_are_stored_byte_exact(self):
        name = "Robert'); DROP TABLE patient;-- Zoë 李小龍 🚑"
        address = "1 \"Quote\" St, \\back\\slash, 100% _under_ ; $1 \t tab"
        p = self.create(name=name, address=address).json()
        self.assertEqual(p["name"], name)
        self.assertEqual(p["address"], address)
        got = request("GET", "/api/patients/" + p["id"]).json()
        self.assertEqual((got["name"], got["address"]), (name, address))
        rows = sql("SELECT encode(convert_to(name, 'UTF8'), 'hex') FROM patient"
                   " WHERE id = '%s'" % p["id"])
        self.assertEqual(bytes.fromhex(rows[0][0]).decode(), name)

    def test_name_of_100_characters_is_fine_101_is_not(self):
        self.create(name="é" * 100)
        r = request("POST", "/api/patients", new_patient(name="é" * 101))
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["errors"][0]["field"], "name")


class PatientList(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tag = "Zq" + uuid.uuid4().hex[:10]
        cls.ids = []
        for i in range(5):
            r = request("POST", "/api/patients",
                        new_patient(name="%s Person %d" % (cls.tag, i)))
            assert r.status == 201, r
            cls.ids.append(r.json()["id"])

    def test_search_pages_and_headers(self):
        # a q search comes in id order (see the README: name order would let
        # a common fragment cost a walk past everything before its matches)
        order = sorted(self.ids)
        r = request("GET", "/api/patients?q=%s&size=2" % self.tag)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-Total-Count"), "5")
        self.assertEqual(r.header("X-Total-Accuracy"), "accurate")
        self.assertEqual([p["id"] for p in r.json()], order[0:2])
        rels = links(r.header("Link"))
        self.assertEqual(rels["first"], "/api/patients?size=2&q=%s" % self.tag)
        self.assertIn("cursor=", rels["next"])
        self.assertIn("cursor=", rels["last"])
        self.assertNotIn("prev", rels)
        r2 = follow(rels["next"])
        self.assertEqual([p["id"] for p in r2.json()], order[2:4])
        r3 = follow(links(r2.header("Link"))["next"])
        self.assertEqual([p["id"] for p in r3.json()], order[4:])
        self.assertIn("prev", links(r3.header("Link")))
        self.assertNotIn("next", links(r3.header("Link")))
        back = follow(links(r3.header("Link"))["prev"])
        self.assertEqual([p["id"] for p in back.json()], order[2:4])
        last = follow(rels["last"])
        self.assertEqual([p["id"] for p in last.json()], order[3:])
        self.assertIn("prev", links(last.header("Link")))
        self.assertNotIn("next", links(last.header("Link")))
        # page= still works for shallow pages
        p3 = request("GET", "/api/patients?q=%s&size=2&page=3" % self.tag)
        self.assertEqual([p["id"] for p in p3.json()], order[4:])
        beyond = request("GET", "/api/patients?q=%s&size=2&page=9" % self.tag)
        self.assertEqual(beyond.status, 200)
        self.assertEqual(beyond.json(), [])
        self.assertEqual(beyond.header("X-Total-Count"), "5")

    def test_search_is_case_insensitive_on_name_and_email(self):
        r = request("GET", "/api/patients?q=" + self.tag.upper())
        self.assertEqual(r.header("X-Total-Count"), "5")
        email = request("GET", "/api/patients/" + self.ids[0]).json()["email"]
        r = request("GET", "/api/patients?q=" + email.split("@")[0].upper())
        self.assertEqual([p["id"] for p in r.json()], [self.ids[0]])

    def test_like_wildcards_are_literal(self):
        r = request("GET", "/api/patients?q=%25%25%25" + self.tag[:3] + "%25")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Total-Count"), "0")
        r = request("GET", "/api/patients?q=_")
        self.assertEqual(r.status, 200)
        self.assertNotEqual(r.header("X-Total-Count"), sql("SELECT count(*) FROM patient")[0][0])

    def test_default_page_size_and_max(self):
        r = request("GET", "/api/patients")
        self.assertEqual(r.status, 200)
        self.assertIsInstance(r.json(), list)
        self.assertLessEqual(len(r.json()), 50)
        r = request("GET", "/api/patients?total=accurate")
        self.assertEqual(int(r.header("X-Total-Count")),
                         int(sql("SELECT count(*) FROM patient")[0][0]))
        self.assertEqual(request("GET", "/api/patients?size=500").status, 200)

    def test_bad_list_parameters_are_400(self):
        for qs in ("size=501", "size=0", "page=0", "page=-1", "page=abc",
                   "sort=name", "q=%zz", "size=1&size=2", "q=" + "x" * 101):
            r = request("GET", "/api/patients?" + qs)
            self.assertEqual(r.status, 400, (qs, r))
            self.assertEqual(r.header("Content-Type"), PROBLEM)
            self.assertTrue(r.json()["errors"], qs)


if __name__ == "__main__":
    unittest.main()
