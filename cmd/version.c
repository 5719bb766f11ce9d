#include <stdio.h>
#include <sys/utsname.h>

#include "cmd/knode.h"
#include "lib/flags.h"
#include "lib/version.h"

int cmd_version(int argc, char **argv)
{
    kn_flagset fs = {.command = "knode version", .usage = "Print the version of knode."};
    kn_error *err = NULL;
    int r = argc > 0 ? kn_flags_parse(&fs, argc, argv, &err) : 0;
    if (r != 0) {
        if (r < 0)
            fprintf(stderr, "Error: %s\n", kn_error_msg(err));
        kn_error_free(&err);
        return r > 0 ? 0 : 2;
    }
    printf("knode version %s (commit %s, %s/%s)\n", kn_version(), kn_version_commit(), "linux",
           kn_version_arch());
    return 0;
}
