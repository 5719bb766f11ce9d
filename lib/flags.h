/* flags.h - command-line flags the way upstream components take them (pflag):
 * `--name=value`, `--name value`, booleans as `--name` or `--name=false`,
 * `-v N` / `--v=N` / `-v4` verbosity, shorthands with attached values (`-n10`),
 * `-h` / `--help`, flags and positional arguments interspersed, `--` ends
 * the flags. Positional arguments are gathered at the front of argv.
 *
 * A sub-command declares a table; defaults are applied from their text form
 * before parsing, so the help output and the behaviour cannot disagree.
 * String values point into argv or at the default literal: nothing is
 * allocated and nothing needs freeing. */
#ifndef KNODE_LIB_FLAGS_H
#define KNODE_LIB_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/error.h"

typedef enum kn_flag_type {
    KN_FLAG_BOOL,     /* bool * */
    KN_FLAG_INT,      /* long long * */
    KN_FLAG_STRING,   /* const char ** */
    KN_FLAG_DURATION, /* int64_t * (nanoseconds) */
} kn_flag_type;

typedef struct kn_flag {
    const char *name; /* long name, without the dashes */
    char shorthand;   /* one-letter alias or 0 */
    kn_flag_type type;
    void *value;      /* where the parsed value goes; type per kn_flag_type */
    const char *def;  /* default in text form ("" / NULL for none) */
    const char *help; /* one line */
} kn_flag;

typedef struct kn_flagset {
    const char *command; /* "knode kubelet" */
    const char *usage;   /* one paragraph shown above the flags */
    const kn_flag *flags;
    size_t nflags;
    /* filled by kn_flags_parse */
    int verbosity; /* -v / --v, also applied to the log module */
    int nargs;     /* positional arguments after the flags */
    char **args;
} kn_flagset;

/* Applies defaults then parses argv[0..argc). Returns 0 on success, 1 when
 * help was requested (and printed to stdout), or negative with *err naming
 * the flag ("unknown flag: --foo", "invalid value \"x\" for --max-pods: ..."). */
int kn_flags_parse(kn_flagset *fs, int argc, char **argv, kn_error **err);

/* Prints usage and every flag with its type and default. */
void kn_flags_print_help(const kn_flagset *fs, FILE *out);

#endif
