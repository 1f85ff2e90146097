/* test_notify.c - signals from another thread wake a poll on the fd, coalesce, and drain. */
#include "ome_native.h"

#include <assert.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>

static void *signal_many(void *arg) {
    for (int i = 0; i < 1000; i++) omn_notify_signal(arg);
    return NULL;
}

int main(void) {
    omn_notify *n = omn_notify_new();
    assert(n && omn_notify_fd(n) >= 0);
    assert(omn_notify_drain(n) == 0);                 /* nothing signalled yet */
    struct pollfd p = {.fd = omn_notify_fd(n), .events = POLLIN};
    assert(poll(&p, 1, 0) == 0);

    pthread_t t;
    assert(pthread_create(&t, NULL, signal_many, n) == 0);
    pthread_join(t, NULL);
    assert(poll(&p, 1, 1000) == 1 && (p.revents & POLLIN));
    assert(omn_notify_drain(n) == 1);                 /* 1000 signals, one wake-up */
    assert(poll(&p, 1, 0) == 0);
    assert(omn_notify_drain(n) == 0);

    omn_notify_free(n);
    omn_notify_free(NULL);
    puts("notify ok");
    return 0;
}
