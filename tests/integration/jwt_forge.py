"""jwt_forge -- makes tokens for the gateway tests with the openssl CLI
and the Python standard library (no JWT library on purpose: the point is
to produce exactly the malformed and forged tokens a library would not).
Keys live in a temporary folder; nothing here is used outside tests."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import time

DIR = tempfile.mkdtemp(prefix="pms-jwt-")


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_rsa_key(name):
    """An RSA key and self-signed certificate (PEM paths)."""
    key = os.path.join(DIR, name + ".key")
    cert = os.path.join(DIR, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=pms-test-" + name],
                   check=True, capture_output=True)
    return key, cert


def modulus_b64u(key):
    out = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-modulus"],
                         check=True, capture_output=True, text=True).stdout
    return b64u(bytes.fromhex(out.strip().split("=", 1)[1]))


def rs256(signing_input, key):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                          input=signing_input.encode(), check=True,
                          capture_output=True).stdout


def make(header, claims, key=None, hs_secret=None):
    signing_input = b64u(json.dumps(header)) + "." + b64u(json.dumps(claims))
    if key is not None:
        sig = rs256(signing_input, key)
    elif hs_secret is not None:
        sig = hmac.new(hs_secret, signing_input.encode(), hashlib.sha256).digest()
    else:
        sig = b""
    return signing_input + "." + b64u(sig)


def claims(issuer, **overrides):
    now = int(time.time())
    c = {"iss": issuer, "aud": "patient-api", "azp": "ms-api",
         "sub": "forged-subject", "exp": now + 300, "iat": now,
         "realm_access": {"roles": ["patient-reader", "patient-writer"]}}
    for k, v in overrides.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def public_pem_from_x5c(x5c):
    der = base64.b64decode(x5c)
    cert = os.path.join(DIR, "realm.der")
    with open(cert, "wb") as f:
        f.write(der)
    return subprocess.run(["openssl", "x509", "-inform", "DER", "-in", cert,
                           "-pubkey", "-noout"], check=True,
                          capture_output=True).stdout
