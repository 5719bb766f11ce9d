/* check.c - `knode check`: preflight of the host (filled in by the preflight module). */
#include <stdio.h>

#include "cmd/knode.h"

int cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "knode check: not built yet\n");
    return 1;
}
