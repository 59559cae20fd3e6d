/*
 * auth_jwks.c -- key store of the auth helper.  Fetching happens outside
 * the read-write lock; only the swap of the key set takes the write lock,
 * so verifications never wait on the network.  The attempt timestamp is
 * taken under its own mutex, so a burst of unknown kids across threads
 * yields one fetch per interval, not one per request.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>

#include "auth_jwks.h"
#include "pms_log.h"

#define JWKS_MAX_BYTES          (1024 * 1024)
#define JWKS_RETRY_WITHOUT_KEYS 1 /* seconds between fetches while keyless */

struct auth_jwks_s {
    const char      *url;
    long             min_interval;
    long             ttl;
    pthread_rwlock_t lock; /* guards keys */
    auth_keyset_t    keys;
    pthread_mutex_t  attempt_lock; /* guards the fields below */
    time_t           last_attempt;
    time_t           last_success;
    long             fetches;
};

/*
 * 1 when every base64url member cjose will decode for an RSA key is a
 * string over the base64url alphabet of a decodable length.  cjose's
 * decoder asserts (aborting the process) on padding or a stray '=' in the
 * middle, found by fuzz_jwt: such a key is skipped instead.
 */
static int
jwks_members_ok(json_t *k)
{
    static const char *members[] = { "n", "e", "d", "p", "q", "dp", "dq",
        "qi" };
    size_t             i, len;
    const char        *v;

    for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        json_t *m = json_object_get(k, members[i]);

        if (m == NULL) {
            continue;
        }
        v = json_string_value(m);
        if (v == NULL) {
            return 0;
        }
        len = strspn(v,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            "0123456789-_");
        if (v[len] != '\0' || len % 4 == 1) {
            return 0;
        }
    }
    return 1;
}

int
auth_keyset_parse(const char *json, size_t len, auth_keyset_t *out, char *err,
    size_t errlen)
{
    json_t      *doc, *keys, *k;
    json_error_t jerr;
    size_t       i;
    cjose_err    cerr;

    out->keys = NULL;
    out->n = 0;
    doc = json_loadb(json, len, 0, &jerr);
    keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        snprintf(err, errlen, "not a JWKS document");
        json_decref(doc);
        return -1;
    }
    out->keys = calloc(json_array_size(keys) + 1, sizeof(auth_key_t));
    if (out->keys == NULL) {
        snprintf(err, errlen, "out of memory");
        json_decref(doc);
        return -1;
    }
    json_array_foreach(keys, i, k)
    {
        const char  *kty = json_string_value(json_object_get(k, "kty"));
        const char  *use = json_string_value(json_object_get(k, "use"));
        const char  *alg = json_string_value(json_object_get(k, "alg"));
        const char  *kid = json_string_value(json_object_get(k, "kid"));
        cjose_jwk_t *jwk;

        if (kty == NULL || strcmp(kty, "RSA") != 0 || kid == NULL
            || strlen(kid) >= sizeof(out->keys[0].kid)
            || (use != NULL && strcmp(use, "sig") != 0)
            || (alg != NULL && strcmp(alg, "RS256") != 0)) {
            continue;
        }
        if (!jwks_members_ok(k)) {
            continue;
        }
        jwk = cjose_jwk_import_json((cjose_header_t *) k, &cerr);
        if (jwk == NULL) {
            continue;
        }
        snprintf(out->keys[out->n].kid, sizeof(out->keys[0].kid), "%s", kid);
        out->keys[out->n].jwk = jwk;
        out->n++;
    }
    json_decref(doc);
    return 0;
}

void
auth_keyset_free(auth_keyset_t *ks)
{
    size_t i;

    for (i = 0; i < ks->n; i++) {
        cjose_jwk_release(ks->keys[i].jwk);
    }
    free(ks->keys);
    ks->keys = NULL;
    ks->n = 0;
}

const cjose_jwk_t *
auth_keyset_find(const auth_keyset_t *ks, const char *kid)
{
    size_t i;

    for (i = 0; i < ks->n; i++) {
        if (strcmp(ks->keys[i].kid, kid) == 0) {
            return ks->keys[i].jwk;
        }
    }
    return NULL;
}

auth_jwks_t *
auth_jwks_new(const char *url, long min_interval, long ttl)
{
    auth_jwks_t *j = calloc(1, sizeof(*j));

    if (j == NULL) {
        return NULL;
    }
    j->url = url;
    j->min_interval = min_interval;
    j->ttl = ttl;
    pthread_rwlock_init(&j->lock, NULL);
    pthread_mutex_init(&j->attempt_lock, NULL);
    return j;
}

void
auth_jwks_free(auth_jwks_t *j)
{
    if (j == NULL) {
        return;
    }
    auth_keyset_free(&j->keys);
    pthread_rwlock_destroy(&j->lock);
    pthread_mutex_destroy(&j->attempt_lock);
    free(j);
}

typedef struct {
    char  *data;
    size_t len;
} jwks_buf_t;

static size_t
jwks_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    jwks_buf_t *b = userdata;
    size_t      n = size * nmemb;
    char       *grown;

    if (b->len + n > JWKS_MAX_BYTES) {
        return 0; /* abort: far larger than any JWKS */
    }
    grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL) {
        return 0;
    }
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static int
jwks_fetch(const char *url, auth_keyset_t *out, char *err, size_t errlen)
{
    CURL      *curl = curl_easy_init();
    jwks_buf_t buf = { NULL, 0 };
    CURLcode   cc;
    long       code = 0;
    int        rc = -1;

    if (curl == NULL) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, jwks_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
    } else if (code != 200 || buf.data == NULL) {
        snprintf(err, errlen, "HTTP %ld", code);
    } else {
        rc = auth_keyset_parse(buf.data, buf.len, out, err, errlen);
    }
    curl_easy_cleanup(curl);
    free(buf.data);
    return rc;
}

int
auth_jwks_refresh(auth_jwks_t *j)
{
    auth_keyset_t fresh, old;
    time_t        now = time(NULL);
    char          err[256];
    long          n, interval;

    pthread_mutex_lock(&j->attempt_lock);
    /* without any keys every request fails: retry once a second (still
     * rate-limited) instead of waiting out the normal interval */
    interval = j->last_success == 0 && j->min_interval > JWKS_RETRY_WITHOUT_KEYS
        ? JWKS_RETRY_WITHOUT_KEYS
        : j->min_interval;
    if (j->last_attempt != 0 && now - j->last_attempt < interval) {
        pthread_mutex_unlock(&j->attempt_lock);
        return 0;
    }
    j->last_attempt = now;
    n = ++j->fetches;
    pthread_mutex_unlock(&j->attempt_lock);

    if (jwks_fetch(j->url, &fresh, err, sizeof(err)) != 0) {
        pms_log_fields(PMS_LOG_WARN,
            json_pack("{s:i}", "jwks_fetches", (int) n),
            "JWKS fetch failed (%s); keeping the keys we have", err);
        return -1;
    }
    pthread_rwlock_wrlock(&j->lock);
    old = j->keys;
    j->keys = fresh;
    pthread_rwlock_unlock(&j->lock);
    auth_keyset_free(&old);
    pthread_mutex_lock(&j->attempt_lock);
    j->last_success = now;
    pthread_mutex_unlock(&j->attempt_lock);
    pms_log_fields(PMS_LOG_INFO,
        json_pack("{s:i, s:i}", "jwks_fetches", (int) n, "keys", (int) fresh.n),
        "JWKS fetched");
    return 1;
}

int
auth_jwks_stale(auth_jwks_t *j)
{
    int stale;

    pthread_mutex_lock(&j->attempt_lock);
    stale = j->last_success == 0 || time(NULL) - j->last_success > j->ttl;
    pthread_mutex_unlock(&j->attempt_lock);
    return stale;
}

const auth_keyset_t *
auth_jwks_lock(auth_jwks_t *j)
{
    pthread_rwlock_rdlock(&j->lock);
    return &j->keys;
}

void
auth_jwks_unlock(auth_jwks_t *j)
{
    pthread_rwlock_unlock(&j->lock);
}

long
auth_jwks_fetches(auth_jwks_t *j)
{
    long n;

    pthread_mutex_lock(&j->attempt_lock);
    n = j->fetches;
    pthread_mutex_unlock(&j->attempt_lock);
    return n;
}
