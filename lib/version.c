#include "lib/version.h"

#ifndef KNODE_VERSION
#define KNODE_VERSION "0.0.0"
#endif
#ifndef KNODE_COMMIT
#define KNODE_COMMIT "unknown"
#endif

#if defined(__x86_64__)
#define KN_ARCH "amd64"
#elif defined(__aarch64__)
#define KN_ARCH "arm64"
#elif defined(__arm__)
#define KN_ARCH "arm"
#elif defined(__powerpc64__)
#define KN_ARCH "ppc64le"
#elif defined(__s390x__)
#define KN_ARCH "s390x"
#elif defined(__riscv)
#define KN_ARCH "riscv64"
#else
#define KN_ARCH "unknown"
#endif

const char *kn_version(void)
{
    return KNODE_VERSION;
}

const char *kn_version_commit(void)
{
    return KNODE_COMMIT;
}

const char *kn_version_arch(void)
{
    return KN_ARCH;
}

const char *kn_user_agent(void)
{
    return "knode/" KNODE_VERSION " (linux/" KN_ARCH ")";
}
