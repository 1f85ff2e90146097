/* edge_cache.c - the edge's stored answers: reference-counted bodies, immutable answers,
 * and the chained hash map (also used for playlist states) that finds them by key.
 * No locking here: the edge holds its lock around every map operation; reference counts
 * are atomic because a connection drops its reference after sending, outside the lock. */
#include "edge_internal.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 32 bits: keys are short strings; this is a cache, not an adversarial table
 * (every key stored was put by the loop; lookups of absent keys cost one chain walk). */
uint32_t edge_hash(const char *key, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)key[i];
        h *= 16777619u;
    }
    return h;
}

int edge_map_init(edge_map *m) {
    m->cap = 256;
    m->count = 0;
    m->buckets = calloc(m->cap, sizeof *m->buckets);
    return m->buckets ? 0 : -1;
}

static int same_key(const edge_node *n, const char *key, size_t len, uint32_t hash) {
    return n->hash == hash && n->key_len == len && memcmp(n->key, key, len) == 0;
}

edge_node *edge_map_get(const edge_map *m, const char *key, size_t len, uint32_t hash) {
    for (edge_node *n = m->buckets[hash & (m->cap - 1)]; n; n = n->next)
        if (same_key(n, key, len, hash)) return n;
    return NULL;
}

static void grow(edge_map *m) {
    size_t cap = m->cap * 2;
    edge_node **b = calloc(cap, sizeof *b);
    if (!b) return;                        /* keep the old table: chains get longer, nothing is lost */
    for (size_t i = 0; i < m->cap; i++) {
        edge_node *n = m->buckets[i];
        while (n) {
            edge_node *next = n->next;
            n->next = b[n->hash & (cap - 1)];
            b[n->hash & (cap - 1)] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->cap = cap;
}

edge_node *edge_map_set(edge_map *m, edge_node *n) {
    edge_node *old = edge_map_remove(m, n->key, n->key_len, n->hash);
    if (m->count >= m->cap) grow(m);
    edge_node **slot = &m->buckets[n->hash & (m->cap - 1)];
    n->next = *slot;
    *slot = n;
    m->count++;
    return old;
}

edge_node *edge_map_remove(edge_map *m, const char *key, size_t len, uint32_t hash) {
    for (edge_node **p = &m->buckets[hash & (m->cap - 1)]; *p; p = &(*p)->next) {
        if (same_key(*p, key, len, hash)) {
            edge_node *n = *p;
            *p = n->next;
            n->next = NULL;
            m->count--;
            return n;
        }
    }
    return NULL;
}

void edge_map_free(edge_map *m) {
    free(m->buckets);
    m->buckets = NULL;
    m->cap = m->count = 0;
}

/* ---- bodies ------------------------------------------------------------------ */

omn_edge_body *omn_edge_body_new(const uint8_t *data, size_t len) {
    omn_edge_body *b = malloc(sizeof *b + (len ? len : 1));
    if (!b) return NULL;
    b->refs = 1;
    b->len = len;
    if (len) memcpy(b->data, data, len);
    return b;
}

void *omn_edge_body_alloc(size_t len) {
    omn_edge_body *b = malloc(sizeof *b + (len ? len : 1));
    if (!b) return NULL;
    b->refs = 1;
    b->len = len;
    return b->data;
}

static omn_edge_body *body_of_data(void *data) {
    return (omn_edge_body *)((uint8_t *)data - offsetof(omn_edge_body, data));
}

void omn_edge_body_release(void *data) {
    if (data) omn_edge_body_unref(body_of_data(data));
}

omn_edge_body *omn_edge_body_of(void *data) {
    if (!data) return NULL;
    omn_edge_body *b = body_of_data(data);
    omn_edge_body_ref(b);
    return b;
}

void omn_edge_body_ref(omn_edge_body *b) {
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}

void omn_edge_body_unref(omn_edge_body *b) {
    if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0) free(b);
}

/* ---- answers ----------------------------------------------------------------- */

edge_answer *edge_answer_new(const char *key, size_t key_len, uint64_t group, int64_t tag,
                             const uint8_t *head, size_t head_len,
                             omn_edge_body *const *bodies, size_t n_bodies) {
    edge_answer *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->node.key = malloc(key_len ? key_len : 1);
    a->head = malloc(head_len ? head_len : 1);
    a->bodies = n_bodies ? calloc(n_bodies, sizeof *a->bodies) : NULL;
    if (!a->node.key || !a->head || (n_bodies && !a->bodies)) {
        free(a->node.key);
        free(a->head);
        free(a->bodies);
        free(a);
        return NULL;
    }
    memcpy(a->node.key, key, key_len);
    a->node.key_len = key_len;
    a->node.hash = edge_hash(key, key_len);
    if (head_len) memcpy(a->head, head, head_len);
    a->head_len = head_len;
    for (size_t i = 0; i < n_bodies; i++) {
        omn_edge_body_ref(bodies[i]);
        a->bodies[i] = bodies[i];
        a->body_len += bodies[i]->len;
    }
    a->n_bodies = n_bodies;
    a->group = group;
    a->tag = tag;
    a->refs = 1;
    return a;
}

void edge_answer_ref(edge_answer *a) {
    __atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
}

void edge_answer_unref(edge_answer *a) {
    if (!a || __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    for (size_t i = 0; i < a->n_bodies; i++) omn_edge_body_unref(a->bodies[i]);
    free(a->bodies);
    free(a->head);
    free(a->node.key);
    free(a);
}
