"""Lists and search at scale (issue 12): keyset cursors that stay exact
while rows come and go, the bounded offset, the three total modes, and
search through the trigram and email indexes with literal wildcards and
non-ASCII text, against the live stack."""

import threading
import unittest
import urllib.parse
import uuid

from pmstest import follow, links, new_patient, request, sql, unique_email

PROBLEM = "application/problem+json"


def create(**overrides):
    r = request("POST", "/api/patients", new_patient(**overrides))
    assert r.status == 201, r
    return r.json()


def walk(url, limit=200):
    """Follows rel="next" from url; returns the pages' patients in order."""
    seen, r = [], request("GET", url)
    for _ in range(limit):
        assert r.status == 200, r
        seen.extend(r.json())
        nxt = links(r.header("Link")).get("next")
        if nxt is None:
            return seen
        r = follow(nxt)
    raise AssertionError("no end after %d pages" % limit)


class CursorWalk(unittest.TestCase):

    def test_a_walk_during_inserts_and_deletes_skips_and_repeats_nothing(self):
        tag = "Cw" + uuid.uuid4().hex[:8]
        stable = [create(name="%s %03d" % (tag, i))["id"] for i in range(0, 60, 2)]
        doomed = [create(name="%s %03d" % (tag, i))["id"] for i in range(1, 60, 2)]
        stop = threading.Event()
        added, failures = [], []

        def churn():
            i = 0
            while not stop.is_set() and i < len(doomed):
                r = request("DELETE", "/api/patients/" + doomed[i])
                if r.status != 204:
                    failures.append(r)
                added.append(create(name="%s %03d+" % (tag, i * 2))["id"])
                i += 1

        t = threading.Thread(target=churn)
        t.start()
        try:
            seen = walk("/api/patients?size=4&q=" + tag)
        finally:
            stop.set()
            t.join()
        self.assertEqual(failures, [])
        ids = [p["id"] for p in seen]
        self.assertEqual(len(ids), len(set(ids)), "a row came twice")
        self.assertEqual([i for i in stable if i not in ids], [], "a row was skipped")
        self.assertEqual(ids, sorted(ids), "out of order (a q search is in id order)")
        self.assertFalse(set(ids) - set(stable) - set(doomed) - set(added))
        self.assertGreater(len(added), 0, "the churn did not overlap the walk")

    def test_walking_back_with_prev_gives_the_same_rows(self):
        tag = "Cb" + uuid.uuid4().hex[:8]
        dob = "19%02d-0%d-1%d" % (uuid.uuid4().int % 100, 1 + uuid.uuid4().int % 9,
                                  uuid.uuid4().int % 10)
        made = [create(name="%s %s" % (tag, n), dateOfBirth=dob) for n in
                ("Émile", "zoë", "Ärne", "Ola", "bo", "Ünal", "Ana")]
        for url, key in (("/api/patients?size=3&q=" + tag, lambda p: p["id"]),
                         ("/api/patients?size=3&birthDate=" + dob,
                          lambda p: (p["name"].lower(), p["id"]))):
            mine = set(p["id"] for p in made)
            forward = [p for p in walk(url) if p["id"] in mine]
            self.assertEqual([p["id"] for p in forward],
                             [p["id"] for p in sorted(made, key=key)], url)
            r = follow(links(request("GET", url).header("Link"))["last"])
            backward = []
            while True:
                backward = r.json() + backward
                prev = links(r.header("Link")).get("prev")
                if prev is None:
                    break
                r = follow(prev)
            self.assertEqual([p["id"] for p in backward if p["id"] in mine],
                             [p["id"] for p in forward], url)

    def test_an_empty_page_after_a_deleted_last_row_still_links_back(self):
        tag = "Ce" + uuid.uuid4().hex[:8]
        a, b = sorted((create(name=tag + " a"), create(name=tag + " b")),
                      key=lambda p: p["id"])      # a q search is in id order
        r = request("GET", "/api/patients?size=1&q=" + tag)
        nxt = links(r.header("Link"))["next"]
        self.assertEqual(request("DELETE", "/api/patients/" + b["id"]).status, 204)
        r = follow(nxt)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), [])
        back = follow(links(r.header("Link"))["prev"])
        self.assertEqual([p["id"] for p in back.json()], [a["id"]])

    def test_bad_cursors_are_400(self):
        good = links(request("GET", "/api/patients?size=1").header("Link"))["last"]
        cursor = urllib.parse.parse_qs(urllib.parse.urlsplit(good).query)["cursor"][0]
        for qs in ("cursor=", "cursor=abc", "cursor=" + cursor[:-1] + "!",
                   "cursor=MWEwYjllMGM0ZS0zYzZmLTRkMGEtOWY1ZS0yYTdiMWM5ZDhlN2b_",
                   "cursor=%s&page=2" % cursor, "cursor=%s&cursor=%s" % (cursor, cursor)):
            r = request("GET", "/api/patients?" + qs)
            self.assertEqual(r.status, 400, qs)
            self.assertEqual(r.header("Content-Type"), PROBLEM)
            fields = [e["field"] for e in r.json()["errors"]]
            self.assertTrue(set(fields) & {"cursor", "page"}, (qs, fields))


class BoundedOffset(unittest.TestCase):

    def test_offset_up_to_10000_rows_then_400_pointing_at_next(self):
        self.assertEqual(request("GET", "/api/patients?size=50&page=201").status, 200)
        self.assertEqual(request("GET", "/api/patients?size=1&page=10001").status, 200)
        for qs in ("size=50&page=202", "size=1&page=10002", "size=500&page=22"):
            r = request("GET", "/api/patients?" + qs)
            self.assertEqual(r.status, 400, qs)
            self.assertEqual(r.header("Content-Type"), PROBLEM)
            err = r.json()["errors"][0]
            self.assertEqual(err["field"], "page")
            self.assertIn("next", err["message"])


class Totals(unittest.TestCase):
    """1,500 rows put straight into the table, so the unfiltered list is
    past the cheap-count limit; removed again afterwards."""

    TAG = "Tt" + uuid.uuid4().hex[:8]

    @classmethod
    def setUpClass(cls):
        sql("INSERT INTO patient (id, name, email, address, date_of_birth,"
            " registered_date) SELECT gen_random_uuid(), '%s ' || g,"
            " '%s.' || g || '@totals.example.com', 'x', date '1990-01-01',"
            " date '2020-01-01' FROM generate_series(1, 1500) g; ANALYZE patient"
            % (cls.TAG, cls.TAG.lower()))

    @classmethod
    def tearDownClass(cls):
        sql("DELETE FROM patient WHERE email LIKE '%@totals.example.com'")

    def count(self, where="true"):
        return int(sql("SELECT count(*) FROM patient WHERE " + where)[0][0])

    def test_accurate_is_the_exact_count(self):
        r = request("GET", "/api/patients?size=5&total=accurate")
        self.assertEqual(r.header("X-Total-Accuracy"), "accurate")
        self.assertEqual(int(r.header("X-Total-Count")), self.count())
        r = request("GET", "/api/patients?size=5&total=accurate&q=" + self.TAG)
        self.assertEqual(int(r.header("X-Total-Count")), 1500)
        nxt = links(r.header("Link"))["next"]
        self.assertIn("total=accurate", nxt)
        self.assertEqual(follow(nxt).header("X-Total-Count"), "1500")

    def test_default_estimates_a_large_result_and_says_so(self):
        r = request("GET", "/api/patients?size=5")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Total-Accuracy"), "estimate")
        est, real = int(r.header("X-Total-Count")), self.count()
        self.assertGreater(est, 1000)
        self.assertLess(abs(est - real), real * 0.5, (est, real))

    def test_default_counts_a_small_result_exactly(self):
        tag = "Ts" + uuid.uuid4().hex[:8]
        for i in range(4):
            create(name="%s %d" % (tag, i))
        r = request("GET", "/api/patients?size=2&q=" + tag)
        self.assertEqual((r.header("X-Total-Count"), r.header("X-Total-Accuracy")),
                         ("4", "accurate"))
        r = follow(links(r.header("Link"))["next"])
        self.assertEqual((r.header("X-Total-Count"), r.header("X-Total-Accuracy")),
                         ("4", "accurate"))

    def test_none_sends_no_count(self):
        r = request("GET", "/api/patients?size=5&total=none")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("X-Total-Count"))
        self.assertEqual(r.header("X-Total-Accuracy"), "none")
        self.assertIn("total=none", links(r.header("Link"))["next"])

    def test_bad_total_is_400(self):
        r = request("GET", "/api/patients?total=exact")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["errors"][0]["field"], "total")


class Search(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tag = "Sx" + uuid.uuid4().hex[:8]
        cls.p = {k: create(name="%s %s" % (cls.tag, n), dateOfBirth=d) for k, n, d in (
            ("pct", "50% off", "1970-05-05"), ("und", "a_b", "1980-06-06"),
            ("bsl", "back\\slash", "1990-07-07"), ("zoe", "ZOË Ångström", "1970-05-05"),
            ("cyr", "Ёжиков Пётр", "2001-01-01"), ("plain", "ab", "1970-05-05"))}

    def names(self, qs):
        r = request("GET", "/api/patients?size=50&" + qs)
        self.assertEqual(r.status, 200, (qs, r))
        return sorted(p["name"][len(self.tag) + 1:] for p in r.json())

    def q(self, text, extra=""):
        return self.names("q=" + urllib.parse.quote(self.tag + " " + text) + extra)

    def test_wildcards_and_backslash_are_literal(self):
        self.assertEqual(self.q("50%"), ["50% off"])
        self.assertEqual(self.q("a_b"), ["a_b"])
        self.assertEqual(self.q("a%b"), [])
        self.assertEqual(self.q("_"), [])
        self.assertEqual(self.q("back\\slash"), ["back\\slash"])
        self.assertEqual(self.q("back\\"), ["back\\slash"])

    def test_non_ascii_is_case_insensitive(self):
        self.assertEqual(self.q("zoë ångström"), ["ZOË Ångström"])
        self.assertEqual(self.q("ёжиков"), ["Ёжиков Пётр"])
        self.assertEqual(self.q("ЁЖИКОВ ПЁТР", "&birthDate=2001-01-01"), ["Ёжиков Пётр"])

    def test_substring_of_an_email(self):
        email = request("GET", "/api/patients/" + self.p["und"]["id"]).json()["email"]
        r = request("GET", "/api/patients?q=" + urllib.parse.quote(email[2:-3].upper()))
        self.assertEqual([p["id"] for p in r.json()], [self.p["und"]["id"]])

    def test_exact_email_is_case_insensitive_and_not_a_substring(self):
        email = request("GET", "/api/patients/" + self.p["zoe"]["id"]).json()["email"]
        r = request("GET", "/api/patients?email=" + urllib.parse.quote(email.upper()))
        self.assertEqual([p["id"] for p in r.json()], [self.p["zoe"]["id"]])
        self.assertEqual((r.header("X-Total-Count"), r.header("X-Total-Accuracy")),
                         ("1", "accurate"))
        r = request("GET", "/api/patients?email=" + urllib.parse.quote("x" + email))
        self.assertEqual(r.json(), [])
        self.assertEqual(request("GET", "/api/patients?email=nope").status, 400)

    def test_birth_date_filter_alone_and_with_q(self):
        self.assertEqual(self.names("q=%s&birthDate=1970-05-05" % self.tag),
                         ["50% off", "ZOË Ångström", "ab"])
        r = request("GET", "/api/patients?size=500&birthDate=1980-06-06")
        self.assertIn(self.p["und"]["id"], [p["id"] for p in r.json()])
        self.assertTrue(all(p["dateOfBirth"] == "1980-06-06" for p in r.json()))
        for bad in ("1980-02-30", "1980-6-6", "yesterday"):
            r = request("GET", "/api/patients?birthDate=" + bad)
            self.assertEqual(r.status, 400, bad)
            self.assertEqual(r.json()["errors"][0]["field"], "birthDate")

    def test_cursor_paging_of_a_filtered_search(self):
        seen = walk("/api/patients?size=1&birthDate=1970-05-05&q=" + self.tag)
        self.assertEqual(sorted(p["id"] for p in seen), sorted(
            self.p[k]["id"] for k in ("pct", "zoe", "plain")))

    def test_search_uses_the_trigram_index(self):
        plan = "\n".join(r[0] for r in sql(
            "SET enable_seqscan = off; SET enable_indexscan = off;"
            " SET enable_indexonlyscan = off;"
            " EXPLAIN SELECT id FROM patient WHERE search LIKE '%%%s%%'"
            % self.tag.lower()))
        self.assertIn("patient_search_trgm", plan)

    def test_control_characters_in_q_are_400(self):
        for q in ("%1F", "a%1Fb", "%7F", "%0A"):
            r = request("GET", "/api/patients?q=" + q)
            self.assertEqual(r.status, 400, q)
            self.assertEqual(r.json()["errors"][0]["field"], "q")

    def test_no_match_spans_name_and_email(self):
        p = self.p["plain"]
        email = request("GET", "/api/patients/" + p["id"]).json()["email"]
        self.assertEqual(self.names("q=" + urllib.parse.quote(" ab" + email[:3])), [])
        self.assertEqual(self.names("q=" + urllib.parse.quote(self.tag + " ab")), ["ab"])


if __name__ == "__main__":
    unittest.main()
