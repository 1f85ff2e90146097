/* util.c - identity of the native core. */
#include "ome_native.h"

const char *omn_version(void) { return "ome-native 0.1.0"; }
