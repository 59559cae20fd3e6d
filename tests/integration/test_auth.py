"""Identity at the gateway against the real Keycloak: who gets in, who
is refused with which RFC 6750 challenge, forged and malformed tokens,
key rotation through Keycloak's admin API, the JWKS refetch rate limit,
and Keycloak going away."""

import json
import os
import re
import time
import unittest
import urllib.parse
import urllib.request
import uuid

import jwt_forge as jf
from pmstest import ENV, SRC, ctl, new_patient, request, sql, token_for, wait_until

ISSUER = ENV.get("PMS_OIDC_ISSUER", "")
KC = ENV.get("PMS_KEYCLOAK_URL", "")


def http_json(url, data=None, headers=None, method=None):
    body = None
    if data is not None:
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) \
            and not (headers or {}).get("Content-Type") else data
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    with urllib.request.urlopen(req, timeout=20) as r:
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None), dict(r.headers)


def admin_token():
    with open(os.path.join(ENV["PMS_RUN"], "keycloak", "admin-password")) as f:
        password = f.read().strip()
    _, body, _ = http_json(KC + "/realms/master/protocol/openid-connect/token", {
        "grant_type": "password", "client_id": "admin-cli",
        "username": ENV.get("PMS_KEYCLOAK_ADMIN", "admin"), "password": password})
    return body["access_token"]


def add_key_provider(name, config):
    tok = admin_token()
    _, realm, _ = http_json(KC + "/admin/realms/patient-management",
                            headers={"Authorization": "Bearer " + tok})
    payload = json.dumps({"name": name, "providerId": config.pop("providerId"),
                          "providerType": "org.keycloak.keys.KeyProvider",
                          "parentId": realm["id"],
                          "config": {k: [v] for k, v in config.items()}}).encode()
    http_json(KC + "/admin/realms/patient-management/components", payload,
              headers={"Authorization": "Bearer " + tok,
                       "Content-Type": "application/json"}, method="POST")


def jwks():
    return http_json(ISSUER + "/protocol/openid-connect/certs")[1]["keys"]


def fresh_token(client):
    """A new access token straight from Keycloak (not the cached one)."""
    secret = ENV["PMS_MS_API_SECRET" if client == "ms-api" else "PMS_MS_READONLY_SECRET"]
    _, out, _ = http_json(ISSUER + "/protocol/openid-connect/token",
                          data={"grant_type": "client_credentials",
                                "client_id": client, "client_secret": secret})
    return out["access_token"]


def get(token, path="/api/patients?size=1", method="GET", body=None):
    headers = {} if token is None else {"Authorization": "Bearer " + token}
    return request(method, path, body, headers=headers, token=False)


def fetch_count():
    with open(os.path.join(ENV["PMS_RUN"], "log", "auth.log")) as f:
        return len(re.findall(r'"msg":"JWKS fetch', f.read()))


@unittest.skipUnless(KC, "identity is not part of this stack")
class Access(unittest.TestCase):

    def test_ms_api_may_do_everything(self):
        tok = token_for("ms-api")
        r = get(tok, "/api/patients", "POST", new_patient())
        self.assertEqual(r.status, 201, r)
        pid = r.json()["id"]
        self.assertEqual(r.json()["createdBy"], "ms-api")
        self.assertEqual(get(tok, "/api/patients/" + pid).status, 200)
        self.assertEqual(get(tok, "/api/patients/" + pid, "PUT", new_patient()).status, 200)
        self.assertEqual(get(tok, "/api/patients/" + pid, "DELETE").status, 204)

    def test_readonly_reads_but_may_not_write(self):
        tok = token_for("ms-readonly")
        self.assertEqual(get(tok).status, 200)
        for method, path, body in (("POST", "/api/patients", new_patient()),
                                   ("PUT", "/api/patients/" + str(uuid.uuid4()), new_patient()),
                                   ("DELETE", "/api/patients/" + str(uuid.uuid4()), None)):
            r = get(tok, path, method, body)
            self.assertEqual(r.status, 403, (method, r))
            self.assertEqual(r.header("Content-Type"), "application/problem+json")
            challenge = r.header("WWW-Authenticate")
            self.assertIn('error="insufficient_scope"', challenge)
            self.assertIn('scope="patient-writer"', challenge)

    def test_missing_or_non_bearer_credentials(self):
        for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"},
                        {"Authorization": "Bearer "}, {"Authorization": "Bearer"},
                        {"Authorization": "Token abc"}):
            r = request("GET", "/api/patients", headers=headers, token=False)
            self.assertEqual(r.status, 401, (headers, r))
            self.assertEqual(r.header("Content-Type"), "application/problem+json")
            self.assertTrue(r.header("WWW-Authenticate").startswith(
                'Bearer realm="patient-management"'), headers)
        r = request("GET", "/api/patients", headers={"Authorization": "Bearer "},
                    token=False)
        self.assertIn('error="invalid_token"', r.header("WWW-Authenticate"))

    def test_token_only_in_query_string_is_refused(self):
        r = request("GET", "/api/patients?access_token=" + token_for("ms-api"),
                    token=False)
        self.assertEqual(r.status, 401)

    def test_client_sent_identity_headers_never_arrive(self):
        r = request("POST", "/api/patients", new_patient(),
                    headers={"X-Auth-Client": "evil", "X-Auth-Subject": "root",
                             "X-Auth-Roles": "patient-writer"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["createdBy"], "ms-api")
        self.assertEqual(sql("SELECT created_by, updated_by FROM patient WHERE id = '%s'"
                             % r.json()["id"]), [["ms-api", "ms-api"]])

    def test_health_needs_no_token(self):
        self.assertEqual(request("GET", "/health", token=False).status, 200)


@unittest.skipUnless(KC, "identity is not part of this stack")
class Forged(unittest.TestCase):
    """Each token here must be refused with 401 invalid_token."""

    @classmethod
    def setUpClass(cls):
        # A key of our own, trusted by the realm at the lowest priority:
        # Keycloak publishes it but never signs with it, so tokens we sign
        # with it reach the claim checks.
        cls.key, cls.cert = jf.new_rsa_key("trusted")
        with open(cls.key) as f:
            private = f.read()
        with open(cls.cert) as f:
            cert = f.read()
        n = jf.modulus_b64u(cls.key)
        if not any(k.get("n") == n for k in jwks()):
            add_key_provider("pms-test-key", {"providerId": "rsa", "priority": "1",
                                              "enabled": "true", "active": "true",
                                              "algorithm": "RS256",
                                              "privateKey": private,
                                              "certificate": cert})
        cls.kid = next(k["kid"] for k in jwks() if k.get("n") == n)
        cls.other_key, _ = jf.new_rsa_key("untrusted")
        real = token_for("ms-api")
        cls.real = real
        cls.real_kid = json.loads(jf.unb64u(real.split(".")[0]))["kid"]
        cls.realm_x5c = next(k["x5c"][0] for k in jwks() if k["kid"] == cls.real_kid)
        # the helper learns the new key on its next allowed refetch (<= 10 s)
        assert wait_until(lambda: get(jf.make({"alg": "RS256", "kid": cls.kid},
                                              jf.claims(ISSUER), key=cls.key)).status == 200,
                          timeout=15, interval=0.5)

    def assert_refused(self, token, why=None):
        r = get(token)
        self.assertEqual(r.status, 401, r)
        challenge = r.header("WWW-Authenticate")
        self.assertIn('error="invalid_token"', challenge)
        if why:
            self.assertIn(why, challenge)

    def signed(self, key=None, kid=None, alg="RS256", **claims):
        header = {"alg": alg, "typ": "JWT", "kid": kid or self.kid}
        return jf.make(header, jf.claims(ISSUER, **claims), key=key or self.key)

    def test_our_trusted_key_works_so_the_checks_below_are_real(self):
        self.assertEqual(get(self.signed()).status, 200)

    def test_alg_none(self):
        token = jf.make({"alg": "none", "kid": self.real_kid}, jf.claims(ISSUER))
        self.assert_refused(token)
        self.assert_refused(token + "AAAA")

    def test_hs256_with_the_realm_public_key_as_secret(self):
        secret = jf.public_pem_from_x5c(self.realm_x5c)
        token = jf.make({"alg": "HS256", "kid": self.real_kid}, jf.claims(ISSUER),
                        hs_secret=secret)
        self.assert_refused(token, "only RS256")

    def test_rs256_by_another_key_under_the_realm_kid(self):
        self.assert_refused(self.signed(key=self.other_key, kid=self.real_kid),
                            "signature")

    def test_unknown_kid(self):
        self.assert_refused(self.signed(kid="no-such-kid-" + uuid.uuid4().hex), "kid")

    def test_no_kid(self):
        token = jf.make({"alg": "RS256"}, jf.claims(ISSUER), key=self.key)
        self.assert_refused(token, "kid")

    def test_expired(self):
        now = int(time.time())
        self.assert_refused(self.signed(exp=now - 120, iat=now - 600), "expired")
        self.assertEqual(get(self.signed(exp=now - 30, iat=now - 600)).status, 200,
                         "30 s past exp is inside the 60 s leeway")

    def test_missing_exp(self):
        self.assert_refused(self.signed(exp=None), "exp")

    def test_not_yet_valid(self):
        self.assert_refused(self.signed(nbf=int(time.time()) + 600), "not valid yet")

    def test_issued_in_the_future(self):
        self.assert_refused(self.signed(iat=int(time.time()) + 600), "future")

    def test_wrong_issuer(self):
        self.assert_refused(self.signed(iss="http://evil.example/realms/patient-management"),
                            "issuer")
        self.assert_refused(self.signed(iss=ISSUER.replace("127.0.0.1", "localhost")),
                            "issuer")

    def test_wrong_audience_and_client(self):
        self.assert_refused(self.signed(aud="account"), "not meant")
        self.assert_refused(self.signed(aud=None), "not meant")
        self.assert_refused(self.signed(azp="some-other-client"), "client")
        self.assert_refused(self.signed(azp=None), "client")

    def test_flipped_bytes(self):
        h, p, s = self.real.split(".")
        payload = bytearray(jf.unb64u(p))
        payload[10] ^= 1
        self.assert_refused(h + "." + jf.b64u(bytes(payload)) + "." + s)
        sig = bytearray(jf.unb64u(s))
        sig[-1] ^= 1
        self.assert_refused(h + "." + p + "." + jf.b64u(bytes(sig)))

    def test_malformed(self):
        h, p, s = self.real.split(".")
        self.assert_refused(h + "." + p)                     # two segments
        self.assert_refused(h + "." + p + "." + s + ".x")    # four
        self.assert_refused(h + ".!!!." + s)                 # bad base64
        self.assert_refused("." + p + "." + s)
        self.assert_refused("x" * (16 * 1024), "too large")  # 16 KiB

    def test_roles_come_from_the_token(self):
        reader_only = self.signed(realm_access={"roles": ["patient-reader"]})
        self.assertEqual(get(reader_only).status, 200)
        r = get(reader_only, "/api/patients", "POST", new_patient())
        self.assertEqual(r.status, 403)
        nothing = self.signed(realm_access=None)
        self.assertEqual(get(nothing).status, 403)


@unittest.skipUnless(KC, "identity is not part of this stack")
class Keys(unittest.TestCase):

    def test_rotation_and_refetch_rate_limit(self):
        before = {k["kid"] for k in jwks()}
        add_key_provider("rotated-%s" % uuid.uuid4().hex[:6],
                         {"providerId": "rsa-generated", "priority": str(int(time.time()) % 100000 + 200),
                          "enabled": "true", "active": "true", "algorithm": "RS256"})
        new_kid = ({k["kid"] for k in jwks()} - before).pop()
        out = urllib.request.urlopen(urllib.request.Request(
            ISSUER + "/protocol/openid-connect/token",
            data=urllib.parse.urlencode({"grant_type": "client_credentials",
                                         "client_id": "ms-api",
                                         "client_secret": ENV["PMS_MS_API_SECRET"]}).encode()),
            timeout=20)
        token = json.loads(out.read())["access_token"]
        self.assertEqual(json.loads(jf.unb64u(token.split(".")[0]))["kid"], new_kid)
        # accepted without restarting anything (wait out a recent fetch)
        self.assertTrue(wait_until(lambda: get(token).status == 200, timeout=15,
                                   interval=0.5))
        # 1,000 requests with unknown kids: at most one fetch per 10 s
        key, _ = jf.new_rsa_key("burst")
        start, fetches = time.time(), fetch_count()
        for i in range(1000):
            header = {"alg": "RS256", "kid": "burst-%d" % i}
            tok = jf.b64u(json.dumps(header)) + "." + jf.b64u(json.dumps(jf.claims(ISSUER))) + ".c2ln"
            self.assertEqual(get(tok).status, 401)
        elapsed = time.time() - start
        made = fetch_count() - fetches
        self.assertLessEqual(made, int(elapsed // 10) + 1, (made, elapsed))


@unittest.skipUnless(KC, "identity is not part of this stack")
class KeycloakDown(unittest.TestCase):

    def test_cached_keys_outlive_keycloak_and_a_cold_helper_says_503(self):
        token = token_for("ms-api")
        self.assertEqual(get(token).status, 200)
        # a second token nginx has never seen (so not in its auth cache)
        unseen = fresh_token("ms-api")
        ctl("stop", "keycloak")
        try:
            self.assertEqual(get(token).status, 200)
            self.assertEqual(get(token, "/api/patients", "POST", new_patient()).status, 201)
            # a helper restarted while Keycloak is down has no keys: it
            # says 503 (retry later), never 401, and never hangs
            ctl("restart", "auth")
            t0 = time.time()
            r = get(unseen)
            self.assertLess(time.time() - t0, 5)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.header("Content-Type"), "application/problem+json")
            self.assertTrue(r.header("Retry-After"))
        finally:
            ctl("start", "keycloak")
            self.assertTrue(wait_until(
                lambda: subprocess_ok(ISSUER + "/.well-known/openid-configuration"),
                timeout=240, interval=1))
        self.assertTrue(wait_until(lambda: get(token).status == 200, timeout=20,
                                   interval=0.5))


def subprocess_ok(url):
    try:
        return urllib.request.urlopen(url, timeout=2).status == 200
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
