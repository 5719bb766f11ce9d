/* version.h - build version and the User-Agent every client sends. */
#ifndef KNODE_LIB_VERSION_H
#define KNODE_LIB_VERSION_H

/* "0.1.0" (from the VERSION file at build time). */
const char *kn_version(void);
/* The short git commit of the build, or "unknown". */
const char *kn_version_commit(void);
/* Kubernetes GOARCH name of this build: "amd64", "arm64", ... */
const char *kn_version_arch(void);
/* "knode/<version> (linux/<arch>)", as upstream's User-Agent form. */
const char *kn_user_agent(void);

#endif
