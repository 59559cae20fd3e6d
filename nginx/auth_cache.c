/*
 * auth_cache.c -- the verified-token cache.  A slot is chosen by the
 * digest's first bytes; a collision simply replaces the older entry.  The
 * whole digest is compared on lookup, so a different token can never
 * borrow another's identity.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "auth_cache.h"

typedef struct {
    unsigned char   digest[32];
    int             used;
    auth_identity_t id;
} cache_slot_t;

struct auth_cache_s {
    pthread_mutex_t lock;
    cache_slot_t    slots[AUTH_CACHE_SLOTS];
};

auth_cache_t *
auth_cache_new(void)
{
    auth_cache_t *c = calloc(1, sizeof(*c));

    if (c != NULL) {
        pthread_mutex_init(&c->lock, NULL);
    }
    return c;
}

void
auth_cache_free(auth_cache_t *c)
{
    if (c != NULL) {
        pthread_mutex_destroy(&c->lock);
        free(c);
    }
}

int
auth_cache_digest(const char *token, size_t len, unsigned char digest[32])
{
    unsigned int n = 32;

    if (EVP_Digest(token, len, digest, &n, EVP_sha256(), NULL) != 1
        || n != 32) {
        return -1;
    }
    return 0;
}

static cache_slot_t *
cache_slot(auth_cache_t *c, const unsigned char digest[32])
{
    unsigned int i =
        ((unsigned int) digest[0] << 8 | digest[1]) % AUTH_CACHE_SLOTS;

    return &c->slots[i];
}

int
auth_cache_get(auth_cache_t *c, const unsigned char digest[32], long now,
    auth_identity_t *id)
{
    cache_slot_t *s;
    int           hit = 0;

    pthread_mutex_lock(&c->lock);
    s = cache_slot(c, digest);
    if (s->used && memcmp(s->digest, digest, 32) == 0) {
        if (now <= s->id.exp) {
            *id = s->id;
            hit = 1;
        } else {
            s->used = 0;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void
auth_cache_put(auth_cache_t *c, const unsigned char digest[32],
    const auth_identity_t *id)
{
    cache_slot_t *s;

    pthread_mutex_lock(&c->lock);
    s = cache_slot(c, digest);
    memcpy(s->digest, digest, 32);
    s->id = *id;
    s->used = 1;
    pthread_mutex_unlock(&c->lock);
}
