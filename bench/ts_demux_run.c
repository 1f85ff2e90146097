/* ts_demux_run.c - the C driver of bench_ts.py: feeds a TS file (in memory) to
 * omn_ts_demux in SLICE-byte pieces, pops every unit, RUNS times; prints one line
 * per run: "<wall ns> <cpu ns> <units> <bytes>". Built by bench_ts.py against native/src. */
#include "ome_native.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: %s FILE SLICE RUNS\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)n);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) return 1;
    fclose(f);
    size_t slice = (size_t)atol(argv[2]);
    int runs = atoi(argv[3]);
    for (int r = 0; r < runs; r++) {
        long long w0 = ns(CLOCK_MONOTONIC), c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
        omn_ts_demux *d = omn_ts_demux_new();
        omn_ts_unit u;
        long units = 0;
        for (size_t off = 0; off < (size_t)n; off += slice) {
            size_t s = (size_t)n - off < slice ? (size_t)n - off : slice;
            omn_ts_demux_feed(d, data + off, s);
            int ev;
            while ((ev = omn_ts_demux_next(d, &u)) != OMN_TS_NONE) units += ev == OMN_TS_FRAME;
        }
        omn_ts_demux_flush(d);
        while (omn_ts_demux_next(d, &u) != OMN_TS_NONE) units++;
        omn_ts_demux_free(d);
        printf("%lld %lld %ld %ld\n", ns(CLOCK_MONOTONIC) - w0, ns(CLOCK_PROCESS_CPUTIME_ID) - c0, units, n);
    }
    free(data);
    return 0;
}
