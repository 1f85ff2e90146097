/* edge_internal.h - what edge.c (the server thread) and edge_cache.c (stored answers and
 * playlist states) share. Not part of the public header: nothing outside the edge uses it. */
#ifndef OME_EDGE_INTERNAL_H
#define OME_EDGE_INTERNAL_H
#include "ome_native.h"

#include <stddef.h>
#include <stdint.h>

struct omn_edge_body {
    int refs;                  /* atomic */
    size_t len;
    uint8_t data[];
};

/* One key in a chained hash map (the first member of every entry). */
typedef struct edge_node {
    struct edge_node *next;
    uint32_t hash;
    size_t key_len;
    char *key;
} edge_node;

typedef struct edge_map {
    edge_node **buckets;
    size_t cap;                /* power of two */
    size_t count;
} edge_map;

/* A stored 200 answer; immutable once put, shared by the connections sending it. */
struct edge_group;

typedef struct edge_answer {
    edge_node node;
    int refs;                  /* atomic: the map's reference + one per connection sending it */
    struct edge_group *grp;    /* its group, linked while the answer is in the map */
    struct edge_answer *gprev, *gnext;
    uint64_t group;
    int64_t tag;
    uint8_t *head;
    size_t head_len;
    omn_edge_body **bodies;
    size_t n_bodies;
    size_t body_len;
} edge_answer;

/* The stored answers of one group (so dropping a stream's old answers walks only them). */
typedef struct edge_group {
    edge_node node;            /* key: the 8 bytes of the group id */
    uint64_t id;
    edge_answer *answers;
    size_t n;
} edge_group;

struct edge_conn;

/* A playlist's blocking state and the connections parked on it (touched under the edge lock). */
typedef struct edge_state {
    edge_node node;
    int64_t msn, part, ahead, timeout_ms, max_parked;
    int open;
    int dirty;                 /* in the edge's dirty list: its waiters must be looked at */
    struct edge_state *next_dirty;
    struct edge_conn *waiters; /* doubly linked through the connections */
    size_t n_waiters;
} edge_state;

uint32_t edge_hash(const char *key, size_t len);
int edge_map_init(edge_map *m);
/* The entry with this key, or NULL. */
edge_node *edge_map_get(const edge_map *m, const char *key, size_t len, uint32_t hash);
/* Inserts n (its key fields set); returns the entry it replaced (removed from the map), or NULL.
 * -1 is never returned: growth failure keeps the old table (longer chains). */
edge_node *edge_map_set(edge_map *m, edge_node *n);
/* Removes and returns the entry with this key, or NULL. */
edge_node *edge_map_remove(edge_map *m, const char *key, size_t len, uint32_t hash);
void edge_map_free(edge_map *m);   /* the buckets only: entries belong to the caller */

edge_answer *edge_answer_new(const char *key, size_t key_len, uint64_t group, int64_t tag,
                             const uint8_t *head, size_t head_len,
                             omn_edge_body *const *bodies, size_t n_bodies);
void edge_answer_ref(edge_answer *a);
void edge_answer_unref(edge_answer *a);
void omn_edge_body_ref(omn_edge_body *b);

#endif
