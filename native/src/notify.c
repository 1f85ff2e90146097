/* notify.c - an eventfd that C worker threads signal and the event loop polls.
 * Thread-safe: signal may be called from any thread; drain from the loop only. */
#include "ome_native.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct omn_notify {
    int fd;
};

omn_notify *omn_notify_new(void) {
    omn_notify *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (n->fd < 0) { free(n); return NULL; }
    return n;
}

int omn_notify_fd(const omn_notify *n) { return n ? n->fd : -1; }

void omn_notify_signal(omn_notify *n) {
    if (!n) return;
    uint64_t one = 1;
    /* EAGAIN only when the counter would overflow: it is already signalled. */
    while (write(n->fd, &one, sizeof one) < 0 && errno == EINTR) {}
}

int omn_notify_drain(omn_notify *n) {
    if (!n) return 0;
    uint64_t v = 0;
    ssize_t r;
    while ((r = read(n->fd, &v, sizeof v)) < 0 && errno == EINTR) {}
    return r == (ssize_t)sizeof v && v > 0;
}

void omn_notify_free(omn_notify *n) {
    if (!n) return;
    close(n->fd);
    free(n);
}
