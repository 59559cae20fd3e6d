"""The OpenAPI document (issue 14): the gateway serves api/openapi.json
without a token, exactly as committed; it is a valid OpenAPI 3.1 document;
and schemathesis, generating requests from it against the live stack
(every operation, then stateful sequences along its links: a create, then
reads, updates and deletes of what it created), gets no answer that
contradicts it.

The document checks and schemathesis need the test venv
(scripts/15-python.sh, which ./pms test uses); on a bare python3 they are
skipped unless PMS_PYTHON says the venv was meant to be used."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import pmstest
from pmstest import PORT, SRC, request

DOC = os.path.join(SRC, "api", "openapi.json")
# The document schemathesis runs from: the repository's, unless
# PMS_OPENAPI_FILE names another (a document being edited while the live
# stack still serves the installed one).  The checks of the document itself
# always read DOC.
RUN_DOC = os.environ.get("PMS_OPENAPI_FILE") or DOC

# What schemathesis checks on every answer.  positive_data_acceptance is
# left out: some rules cannot be written in JSON Schema (a date not in the
# future, registeredDate not before dateOfBirth, a unique email, a cursor
# the service made), so schema-valid requests are rightly refused.
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
])
MAX_EXAMPLES = int(os.environ.get("PMS_SCHEMATHESIS_EXAMPLES", "300"))
STATEFUL_SECONDS = int(os.environ.get("PMS_SCHEMATHESIS_STATEFUL_S", "45"))
RUN_TIMEOUT = 240   # each run; within the 300 s of its token
# A patient's audit history outlives the patient on purpose (README "Audit
# history": append-only records, read after the delete, the last one the
# tombstone), so a 200 from these reads after a DELETE of the patient is no
# use-after-free.  FHIR's read after a delete is a 410 and stays checked.
KEPT_AFTER_DELETE = ["getPatientHistory", "headPatientHistory",
                     "fhirPatientHistory", "vreadFhirPatient"]


def config_toml():
    """The run's schemathesis.toml: CHECKS, and the history reads exempt
    from use_after_free.  The checks are named here rather than with
    --checks, since a check named on the command line overrides any
    per-operation setting."""
    lines = ["[checks]", "enabled = false"]
    lines += ["%s.enabled = true" % c for c in CHECKS.split(",")]
    lines += ["", "[[operations]]",
              "include-operation-id = %s" % json.dumps(KEPT_AFTER_DELETE),
              "checks.use_after_free.enabled = false", ""]
    return "\n".join(lines)


def have_tools():
    try:
        import openapi_spec_validator  # noqa: F401
        import schemathesis  # noqa: F401
    except ImportError:
        return False
    return True


def needs_tools(test):
    """Skips on a python without the venv's tools, unless PMS_PYTHON (set
    by scripts/15-python.sh) says they should be there: then it fails."""
    if have_tools() or os.environ.get("PMS_PYTHON"):
        return test
    return unittest.skip("needs the test venv (scripts/15-python.sh)")(test)


def fresh_token(client="ms-api"):
    """A token with its whole lifetime (5 minutes) ahead: the run must not
    outlive it, or the answers turn into 401s."""
    with pmstest._TOKENS_LOCK:
        pmstest._TOKENS.pop(client, None)
    return pmstest.token_for(client)


def created_ids(har_path):
    """Ids of the patients the run created: its 201 answers, to
    POST /api/patients (a patient) and to POST /api/fhir/Patient (a FHIR
    Patient, whose id is the same patient's)."""
    with open(har_path) as f:
        har = json.load(f)
    ids = set()
    for entry in har.get("log", {}).get("entries", []):
        if entry["request"]["method"] != "POST" or entry["response"]["status"] != 201:
            continue
        try:
            body = json.loads(entry["response"]["content"]["text"])
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(body, dict) and isinstance(body.get("id"), str) \
                and body.get("resourceType", "Patient") == "Patient":
            ids.add(body["id"])
    return ids


class Document(unittest.TestCase):

    def test_served_without_a_token_as_committed(self):
        r = request("GET", "/api/openapi.json", token=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        with open(DOC, "rb") as f:
            self.assertEqual(r.body, f.read(),
                             "the gateway serves another api/openapi.json than the"
                             " repository's (is the stack built from this tree?)")
        head = request("HEAD", "/api/openapi.json", token=False)
        self.assertEqual(head.status, 200, head)
        self.assertEqual(head.body, b"")

    def test_a_write_method_is_refused(self):
        r = request("POST", "/api/openapi.json", body={}, token=False)
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.header("Content-Type"), "application/problem+json")

    @needs_tools
    def test_is_valid_openapi_3_1(self):
        from openapi_spec_validator import validate
        from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
        with open(DOC) as f:
            doc = json.load(f)
        self.assertEqual(doc["openapi"], "3.1.0")
        validate(doc)
        # and a broken copy is refused, so the validator really looks
        broken = json.loads(json.dumps(doc))
        broken["paths"]["/api/patients"]["get"]["responses"]["200"]["content"] = 5
        with self.assertRaises(OpenAPIValidationError):
            validate(broken)

    def test_every_operation_is_documented_with_its_errors(self):
        with open(DOC) as f:
            doc = json.load(f)
        ops = {(m.upper(), p) for p, item in doc["paths"].items()
               for m in item if m in ("get", "head", "put", "post", "delete")}
        self.assertEqual(ops, {
            ("GET", "/api/patients"), ("HEAD", "/api/patients"),
            ("POST", "/api/patients"),
            ("GET", "/api/patients/{id}"), ("HEAD", "/api/patients/{id}"),
            ("PUT", "/api/patients/{id}"), ("DELETE", "/api/patients/{id}"),
            ("GET", "/api/analytics/summary"), ("HEAD", "/api/analytics/summary"),
            ("GET", "/api/patients/{id}/history"),
            ("HEAD", "/api/patients/{id}/history"),
            ("GET", "/api/fhir/metadata"),
            ("GET", "/api/fhir/Patient"), ("POST", "/api/fhir/Patient"),
            ("GET", "/api/fhir/Patient/{id}"), ("PUT", "/api/fhir/Patient/{id}"),
            ("DELETE", "/api/fhir/Patient/{id}"),
            ("GET", "/api/fhir/Patient/{id}/_history"),
            ("GET", "/api/fhir/Patient/{id}/_history/{vid}"),
            ("GET", "/health"), ("HEAD", "/health"),
            ("GET", "/api/openapi.json"), ("HEAD", "/api/openapi.json")})
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method == "parameters":
                    continue
                codes = set(op["responses"])
                open_route = op.get("security") == []
                with self.subTest(op=op["operationId"]):
                    self.assertIn("414", codes)
                    if not open_route:
                        self.assertTrue({"401", "403", "503"} <= codes, codes)


class Schemathesis(unittest.TestCase):
    """Two runs against the gateway, each with a token of its own: every
    operation with MAX_EXAMPLES generated requests (valid and invalid),
    then STATEFUL_SECONDS of stateful scenarios along the links."""

    def run_schemathesis(self, label, *args):
        cli = os.path.join(os.path.dirname(sys.executable), "schemathesis")
        self.assertTrue(os.path.exists(cli),
                        "schemathesis is not installed beside " + sys.executable)
        work = tempfile.mkdtemp(prefix="pms-schemathesis-")
        har = os.path.join(work, "run.har")
        config = os.path.join(work, "schemathesis.toml")
        with open(config, "w") as f:
            f.write(config_toml())
        cmd = [cli, "--config-file", config, "run", RUN_DOC,
               "--url", "http://127.0.0.1:%d" % PORT,
               "--header", "Authorization: Bearer " + fresh_token(),
               "--request-timeout", "15",
               "--generation-database", "none",
               "--report", "har", "--report-har-path", har,
               "--no-color"] + list(args)
        start = time.time()
        try:
            out = subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                                 timeout=RUN_TIMEOUT)
            ids = created_ids(har) if os.path.exists(har) else set()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        report = out.stdout + out.stderr
        at = report.find("SUMMARY")
        summary = report[report.rfind("\n", 0, at) + 1:] if at >= 0 else report[-3000:]
        sys.stderr.write("\nschemathesis %s (%s): %.0f s, %d patients created\n%s"
                         % (label, " ".join(args), time.time() - start, len(ids),
                            summary))
        return out.returncode, report, ids

    @needs_tools
    def test_live_stack_conforms(self):
        runs = []
        try:
            runs.append(self.run_schemathesis(
                "per operation", "--phases", "examples,coverage,fuzzing",
                "--max-examples", str(MAX_EXAMPLES)))
            runs.append(self.run_schemathesis(
                "stateful", "--phases", "stateful",
                "--max-time", str(STATEFUL_SECONDS)))
        finally:
            # the patients the runs created and left would only be noise to
            # the tests that follow (and to whoever lists the patients)
            ids = set().union(*(r[2] for r in runs))
            left = [i for i in sorted(ids)
                    if request("DELETE", "/api/patients/" + i).status == 204]
            sys.stderr.write("  %d patients created, %d of them left and deleted\n"
                             % (len(ids), len(left)))
        failed = [report for rc, report, _ in runs if rc != 0]
        self.assertEqual(failed, [], "schemathesis found failures:\n"
                         + "\n".join(failed))


if __name__ == "__main__":
    unittest.main()
