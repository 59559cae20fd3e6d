/*
 * check_auth.c -- the gateway's token rules with keys this test makes
 * (cjose): a good token passes and yields subject, client and roles; each
 * broken rule is refused with its reason; the JWKS parser keeps only RSA
 * signature keys; the verified-token cache keys by digest and honours exp.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <cjose/cjose.h>

#include "auth_cache.h"
#include "auth_jwks.h"
#include "auth_verify.h"
#include "check_pms.h"

#define ISS "http://127.0.0.1:8080/realms/patient-management"
#define NOW 1800000000L

static cjose_jwk_t        *key, *other;
static const auth_policy_t policy = { ISS, "patient-api", "ms-api,ms-readonly",
    60 };

static const cjose_jwk_t *
lookup(void *ctx, const char *kid)
{
    (void) ctx;
    return strcmp(kid, "k1") == 0 ? key : NULL;
}

/* 1024-bit keys: enough to exercise RS256, and fast under valgrind. */
static void
setup(void)
{
    cjose_err err;

    key = cjose_jwk_create_RSA_random(1024, NULL, 0, &err);
    other = cjose_jwk_create_RSA_random(1024, NULL, 0, &err);
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(other);
}

static void
teardown(void)
{
    cjose_jwk_release(key);
    cjose_jwk_release(other);
}

/* Signs claims (a JSON text) with k under alg/kid; caller frees. */
static char *
sign(cjose_jwk_t *k, const char *alg, const char *kid, const char *claims)
{
    cjose_err       err;
    cjose_header_t *hdr = cjose_header_new(&err);
    cjose_jws_t    *jws;
    const char     *compact;
    char           *out;

    cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &err);
    if (kid != NULL) {
        cjose_header_set(hdr, CJOSE_HDR_KID, kid, &err);
    }
    jws =
        cjose_jws_sign(k, hdr, (const uint8_t *) claims, strlen(claims), &err);
    ck_assert_ptr_nonnull(jws);
    ck_assert(cjose_jws_export(jws, &compact, &err));
    out = strdup(compact);
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    return out;
}

static char *
claims(const char *extra)
{
    static char buf[1024];

    snprintf(buf, sizeof(buf),
        "{\"iss\":\"" ISS "\",\"aud\":[\"account\",\"patient-api\"],"
        "\"azp\":\"ms-api\",\"sub\":\"s-1\",\"exp\":%ld,\"iat\":%ld,"
        "\"realm_access\":{\"roles\":[\"patient-reader\",\"patient-writer\"]}%s}",
        NOW + 300, NOW, extra ? extra : "");
    return buf;
}

static auth_result_t
check(const char *token, auth_identity_t *id, char *why)
{
    return auth_verify(token, strlen(token), &policy, NOW, lookup, NULL, id,
        why, 128);
}

static void
refused(const char *token, const char *reason)
{
    auth_identity_t id;
    char            why[128];

    ck_assert_int_eq(check(token, &id, why), AUTH_INVALID);
    ck_assert_msg(strstr(why, reason) != NULL, "why: %s", why);
}

/* A token with the fixed iss/aud/azp and the given extra claims is refused. */
static void
refused_claims(const char *extra, const char *reason)
{
    char  buf[512];
    char *t;

    snprintf(buf, sizeof(buf),
        "{\"iss\":\"" ISS "\",\"aud\":\"patient-api\","
        "\"azp\":\"ms-api\"%s%s}",
        extra ? "," : "", extra ? extra : "");
    t = sign(key, "RS256", "k1", buf);
    refused(t, reason);
    free(t);
}

START_TEST(test_good_token)
{
    auth_identity_t id;
    char            why[128], *t = sign(key, "RS256", "k1", claims(NULL));

    ck_assert_int_eq(check(t, &id, why), AUTH_OK);
    ck_assert_str_eq(id.sub, "s-1");
    ck_assert_str_eq(id.azp, "ms-api");
    ck_assert_str_eq(id.roles, "patient-reader,patient-writer");
    ck_assert_int_eq(id.exp, NOW + 300);
    ck_assert(auth_has_role(id.roles, "patient-writer"));
    ck_assert(!auth_has_role(id.roles, "patient-read"));
    ck_assert(!auth_has_role(id.roles, ""));
    free(t);
}
END_TEST

START_TEST(test_time_rules)
{
    char *t;
    char  extra[96];

    /* exp is overridden by a later duplicate key: build claims by hand */
    snprintf(extra, sizeof(extra), ",\"nbf\":%ld", NOW + 61);
    t = sign(key, "RS256", "k1", claims(extra));
    refused(t, "not valid yet");
    free(t);
    snprintf(extra, sizeof(extra), ",\"nbf\":%ld", NOW + 59);
    t = sign(key, "RS256", "k1", claims(extra));
    {
        auth_identity_t id;
        char            why[128];
        ck_assert_int_eq(check(t, &id, why), AUTH_OK);
    }
    free(t);
    refused_claims("\"exp\":1799999900", "expired");
    refused_claims(NULL, "no valid exp");
    refused_claims("\"exp\":1800000300,\"iat\":1800000100", "future");
    /* found by fuzz_jwt: a date beyond a long was cast (undefined) */
    refused_claims("\"exp\":1e300", "no valid exp");
    refused_claims("\"exp\":-5", "no valid exp");
}
END_TEST

START_TEST(test_claim_rules)
{
    char *t;

    t = sign(key, "RS256", "k1",
        "{\"iss\":\"http://evil\",\"aud\":\"patient-api\","
        "\"azp\":\"ms-api\",\"exp\":1800000300}");
    refused(t, "issuer");
    free(t);
    t = sign(key, "RS256", "k1",
        "{\"iss\":\"" ISS "\",\"aud\":\"account\","
        "\"azp\":\"ms-api\",\"exp\":1800000300}");
    refused(t, "not meant");
    free(t);
    t = sign(key, "RS256", "k1",
        "{\"iss\":\"" ISS "\",\"aud\":\"patient-api\","
        "\"azp\":\"ms-api-evil\",\"exp\":1800000300}");
    refused(t, "client");
    free(t);
}
END_TEST

START_TEST(test_header_rules)
{
    auth_identity_t      id;
    char                 why[128], *t;
    cjose_err            err;
    cjose_jwk_t         *hmac;
    static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";

    t = sign(key, "RS256", NULL, claims(NULL));
    refused(t, "no kid");
    free(t);
    t = sign(key, "RS384", "k1", claims(NULL));
    refused(t, "only RS256");
    free(t);
    hmac = cjose_jwk_create_oct_spec(secret, sizeof(secret), &err);
    t = sign(hmac, "HS256", "k1", claims(NULL));
    refused(t, "only RS256");
    free(t);
    cjose_jwk_release(hmac);
    t = sign(other, "RS256", "k1", claims(NULL));
    refused(t, "signature");
    free(t);
    t = sign(key, "RS256", "k2", claims(NULL));
    ck_assert_int_eq(check(t, &id, why), AUTH_UNKNOWN_KID);
    free(t);
}
END_TEST

START_TEST(test_shape_rules)
{
    char *t = sign(key, "RS256", "k1", claims(NULL)), *dot,
         big[AUTH_MAX_TOKEN + 2];

    refused("eyJhbGciOiJub25lIn0.e30.", "compact JWS"); /* alg none, no sig */
    refused("a.b", "compact JWS");
    refused("a.b.c.d", "compact JWS");
    refused("a.b!.c", "compact JWS");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    refused(big, "too large");
    dot = strrchr(t, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A'; /* flip signature */
    refused(t, "signature");
    free(t);
}
END_TEST

START_TEST(test_jwks_parse)
{
    auth_keyset_t ks;
    char          err[64];
    const char   *doc =
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
        "{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"AAAA\"},"
        "{\"kty\":\"RSA\",\"kid\":\"ps\",\"alg\":\"PS256\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
        /* found by fuzz_jwt: cjose aborts on '=' inside a member */
        "{\"kty\":\"RSA\",\"kid\":\"pad\",\"n\":\"vkv_sX=QILMv\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"len\",\"n\":\"AQABA\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"num\",\"n\":5,\"e\":\"AQAB\"}]}";

    ck_assert_int_eq(auth_keyset_parse(doc, strlen(doc), &ks, err, sizeof(err)),
        0);
    ck_assert_uint_eq(ks.n, 0);
    auth_keyset_free(&ks);
    ck_assert_int_eq(auth_keyset_parse("[]", 2, &ks, err, sizeof(err)), -1);
    ck_assert_int_eq(auth_keyset_parse("nope", 4, &ks, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_jwks_parse_real_key)
{
    auth_keyset_t ks;
    char          err[64], *pub, doc[4096];
    cjose_err     cerr;

    pub = cjose_jwk_to_json(key, false, &cerr);
    ck_assert_ptr_nonnull(pub);
    snprintf(doc, sizeof(doc),
        "{\"keys\":[%.*s,\"kid\":\"k1\",\"use\":\"sig\"}]}",
        (int) strlen(pub) - 1, pub);
    ck_assert_int_eq(auth_keyset_parse(doc, strlen(doc), &ks, err, sizeof(err)),
        0);
    ck_assert_uint_eq(ks.n, 1);
    ck_assert_ptr_nonnull(auth_keyset_find(&ks, "k1"));
    ck_assert_ptr_null(auth_keyset_find(&ks, "k2"));
    auth_keyset_free(&ks);
    free(pub);
}
END_TEST

START_TEST(test_cache)
{
    auth_cache_t   *c = auth_cache_new();
    auth_identity_t id = { "s", "ms-api", "patient-reader", 1000 }, got;
    unsigned char   d1[32], d2[32];

    ck_assert_int_eq(auth_cache_digest("token-one", 9, d1), 0);
    ck_assert_int_eq(auth_cache_digest("token-two", 9, d2), 0);
    ck_assert(!auth_cache_get(c, d1, 10, &got));
    auth_cache_put(c, d1, &id);
    ck_assert(auth_cache_get(c, d1, 1000, &got));
    ck_assert_str_eq(got.azp, "ms-api");
    ck_assert(!auth_cache_get(c, d2, 10, &got));
    ck_assert(!auth_cache_get(c, d1, 1001, &got)); /* past exp */
    ck_assert(!auth_cache_get(c, d1, 10, &got));   /* and evicted */
    auth_cache_free(c);
}
END_TEST

Suite *
auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("verify");
    TCase *keys = tcase_create("keys");

    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_good_token);
    tcase_add_test(tc, test_time_rules);
    tcase_add_test(tc, test_claim_rules);
    tcase_add_test(tc, test_header_rules);
    tcase_add_test(tc, test_shape_rules);
    tcase_add_unchecked_fixture(keys, setup, teardown);
    tcase_add_test(keys, test_jwks_parse);
    tcase_add_test(keys, test_jwks_parse_real_key);
    tcase_add_test(keys, test_cache);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, keys);
    return s;
}
