/* jsonfmt.c - OME's float formatting for API JSON ("%.17g", then ".0"). */
#include "ome_native.h"

#include <stdio.h>
#include <string.h>

int omn_format_double(double v, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%.17g", v);
    if (n < 0 || (size_t)n >= cap) return -1;
    /* inf/nan have letters but no '.'/'e'; JSON has no spelling for them
     * anyway, so leave them as printf wrote them for the caller to reject. */
    if (!strpbrk(buf, ".eEin")) {
        if ((size_t)n + 2 >= cap) return -1;
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}
