#include "lib/flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/duration.h"
#include "lib/log.h"

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int parse_int(const char *s, long long *out)
{
    if (!*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int set_value(const kn_flag *f, const char *text, kn_error **err)
{
    kn_error *inner = NULL;
    switch (f->type) {
    case KN_FLAG_BOOL:
        if (parse_bool(text, f->value) == 0)
            return 0;
        break;
    case KN_FLAG_INT:
        if (parse_int(text, f->value) == 0)
            return 0;
        break;
    case KN_FLAG_STRING:
        *(const char **)f->value = text;
        return 0;
    case KN_FLAG_DURATION:
        if (kn_duration_parse(text, f->value, &inner) == 0)
            return 0;
        kn_error_free(&inner);
        break;
    }
    static const char *const kinds[] = {"a bool", "an int", "a string", "a duration"};
    return kn_error_set(err, KN_EINVAL, "invalid argument \"%s\" for \"--%s\" flag: not %s", text,
                        f->name, kinds[f->type]);
}

static int apply_defaults(const kn_flagset *fs, kn_error **err)
{
    for (size_t i = 0; i < fs->nflags; i++) {
        const kn_flag *f = &fs->flags[i];
        const char *def = f->def ? f->def : "";
        if (!*def && f->type != KN_FLAG_STRING) {
            if (f->type == KN_FLAG_BOOL)
                *(bool *)f->value = false;
            else if (f->type == KN_FLAG_INT)
                *(long long *)f->value = 0;
            else
                *(int64_t *)f->value = 0;
            continue;
        }
        if (set_value(f, def, err) < 0)
            return kn_error_wrap(err, "default of --%s", f->name);
    }
    return 0;
}

static const kn_flag *find_long(const kn_flagset *fs, const char *name, size_t len)
{
    for (size_t i = 0; i < fs->nflags; i++) {
        const char *n = fs->flags[i].name;
        if (strlen(n) == len && strncmp(n, name, len) == 0)
            return &fs->flags[i];
    }
    return NULL;
}

static const kn_flag *find_short(const kn_flagset *fs, char c)
{
    for (size_t i = 0; i < fs->nflags; i++) {
        if (fs->flags[i].shorthand == c)
            return &fs->flags[i];
    }
    return NULL;
}

static int parse_verbosity(kn_flagset *fs, const char *text, kn_error **err)
{
    long long v;
    if (parse_int(text, &v) < 0 || v < 0 || v > 100)
        return kn_error_set(err, KN_EINVAL, "invalid argument \"%s\" for \"-v, --v\" flag", text);
    fs->verbosity = (int)v;
    kn_log_set_verbosity((int)v);
    return 0;
}

typedef enum { TOK_FLAG, TOK_HELP, TOK_VERBOSITY } tok_kind;

/* Resolves one "-x"/"--name" token to a flag. */
/* Resolves one "-x"/"--name" token to a flag. *attached gets a value written
 * in the same token: "--name=value", "-x=value" or pflag's "-xvalue". */
static int resolve(kn_flagset *fs, const char *arg, const char **attached, const kn_flag **flag,
                   tok_kind *kind, kn_error **err)
{
    bool is_long = arg[1] == '-';
    const char *name = arg + (is_long ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    *attached = eq ? eq + 1 : NULL;
    if (!is_long && len > 1) { /* shorthand with its value attached: -n10.0.0.1, -v4 */
        *attached = name + 1;
        len = 1;
    }
    *flag = NULL;
    if ((len == 4 && strncmp(name, "help", 4) == 0) || (!is_long && len == 1 && name[0] == 'h')) {
        *kind = TOK_HELP;
        return 0;
    }
    if (len == 1 && name[0] == 'v') {
        *kind = TOK_VERBOSITY;
        return 0;
    }
    *kind = TOK_FLAG;
    *flag = is_long ? find_long(fs, name, len) : find_short(fs, name[0]);
    if (!*flag)
        return kn_error_set(err, KN_EINVAL, "unknown flag: %s%.*s", is_long ? "--" : "-",
                            is_long ? (int)len : (int)strlen(name), name);
    return 0;
}

/* Parses one flag token at argv[*i] (advancing *i past a separate value).
 * Returns 0, 1 for help, or negative. */
static int parse_one(kn_flagset *fs, int argc, char **argv, int *i, kn_error **err)
{
    const char *arg = argv[*i];
    const char *val;
    const kn_flag *f;
    tok_kind kind;
    if (resolve(fs, arg, &val, &f, &kind, err) < 0)
        return -KN_EINVAL;
    if (kind == TOK_HELP) {
        kn_flags_print_help(fs, stdout);
        return 1;
    }
    if (!val && kind == TOK_FLAG && f->type == KN_FLAG_BOOL)
        val = "true";
    if (!val) {
        if (*i + 1 >= argc)
            return kn_error_set(err, KN_EINVAL, "flag needs an argument: %s", arg);
        val = argv[++*i];
    }
    return kind == TOK_VERBOSITY ? parse_verbosity(fs, val, err) : set_value(f, val, err);
}

int kn_flags_parse(kn_flagset *fs, int argc, char **argv, kn_error **err)
{
    fs->nargs = 0;
    fs->args = NULL;
    fs->verbosity = kn_log_get_verbosity();
    if (apply_defaults(fs, err) < 0)
        return -KN_EINVAL;
    /* Flags and positional arguments may be interspersed, as with pflag:
     * positionals are gathered, in order, at the front of argv[0..npos). */
    int npos = 0, i = 0;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            for (int j = i + 1; j < argc; j++)
                argv[npos++] = argv[j];
            break;
        }
        if (argv[i][0] != '-' || argv[i][1] == '\0') {
            argv[npos++] = argv[i]; /* slots before i are consumed flags */
            continue;
        }
        int r = parse_one(fs, argc, argv, &i, err);
        if (r != 0)
            return r;
    }
    fs->nargs = npos;
    fs->args = argv;
    return 0;
}

static const char *type_name(kn_flag_type t)
{
    switch (t) {
    case KN_FLAG_BOOL:
        return "";
    case KN_FLAG_INT:
        return " int";
    case KN_FLAG_STRING:
        return " string";
    case KN_FLAG_DURATION:
        return " duration";
    }
    return "";
}

static void print_flag(FILE *out, const char *shorthand, const char *name, const char *type,
                       const char *help, const char *def, bool quote)
{
    char left[96];
    snprintf(left, sizeof(left), "  %s--%s%s", shorthand, name, type);
    fprintf(out, "%-44s %s", left, help);
    if (def && *def)
        fprintf(out, quote ? " (default \"%s\")" : " (default %s)", def);
    fputc('\n', out);
}

void kn_flags_print_help(const kn_flagset *fs, FILE *out)
{
    fprintf(out, "Usage: %s [flags]\n\n", fs->command);
    if (fs->usage)
        fprintf(out, "%s\n\n", fs->usage);
    fprintf(out, "Flags:\n");
    for (size_t i = 0; i < fs->nflags; i++) {
        const kn_flag *f = &fs->flags[i];
        char sh[8] = "";
        if (f->shorthand)
            snprintf(sh, sizeof(sh), "-%c, ", f->shorthand);
        print_flag(out, sh, f->name, type_name(f->type), f->help, f->def,
                   f->type == KN_FLAG_STRING);
    }
    print_flag(out, "-h, ", "help", "", "help for this command", NULL, false);
    print_flag(out, "-v, ", "v", " Level", "number for the log level verbosity", "0", false);
}
