/* PKI: files created once and reused, SANs, verification by openssl(1),
 * the CA pin, CSR signing. */
#include <stdlib.h>
#include <sys/stat.h>

#include "controlplane/pki.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static char *sh_out(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    KT_ASSERT(p != NULL);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = '\0';
    pclose(p);
    return xstrdup(buf);
}

static int sh(const char *fmt, const char *arg)
{
    char *cmd = xasprintf(fmt, arg, arg, arg, arg);
    int r = system(cmd);
    free(cmd);
    return r;
}

static void ensure(const char *dir, const char *const *ips)
{
    kn_pki_opts o = {.data_dir = dir,
                     .server_url = "https://127.0.0.1:6443",
                     .cluster_domain = "cluster.local",
                     .ip_sans = ips};
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_pki_ensure(&o, &err), err);
}

static long mode_of(const char *dir, const char *name)
{
    char *p = xasprintf("%s/%s", dir, name);
    struct stat st;
    KT_ASSERT(stat(p, &st) == 0);
    free(p);
    return st.st_mode & 0777;
}

KT_TEST(pki, creates_verifiable_certs_with_modes)
{
    char *dir = xasprintf("%s/data", kt_tmpdir());
    static const char *const ips[] = {"10.96.0.1", "10.250.0.1", NULL};
    ensure(dir, ips);
    KT_ASSERT_EQ(mode_of(dir, "ca.key"), 0600);
    KT_ASSERT_EQ(mode_of(dir, "admin.kubeconfig"), 0600);
    KT_ASSERT_EQ(mode_of(dir, "sa.key"), 0600);
    KT_ASSERT_EQ(
        sh("cd %s && openssl verify -CAfile ca.crt apiserver.crt admin.crt >/dev/null", dir), 0);
    char *cmd = xasprintf("openssl x509 -in %s/apiserver.crt -noout -ext subjectAltName", dir);
    char *san = sh_out(cmd);
    KT_ASSERT_CONTAINS(san, "DNS:kubernetes.default.svc.cluster.local");
    KT_ASSERT_CONTAINS(san, "IP Address:10.96.0.1");
    KT_ASSERT_CONTAINS(san, "IP Address:127.0.0.1");
    free(san);
    free(cmd);
    cmd = xasprintf("openssl x509 -in %s/admin.crt -noout -subject", dir);
    char *subj = sh_out(cmd);
    KT_ASSERT_CONTAINS(subj, "O = system:masters");
    KT_ASSERT_CONTAINS(subj, "CN = kubernetes-admin");
    free(subj);
    free(cmd);
    free(dir);
}

KT_TEST(pki, restart_reuses_and_new_ip_reissues_serving_cert_only)
{
    char *dir = xasprintf("%s/data", kt_tmpdir());
    static const char *const ips1[] = {"10.96.0.1", NULL};
    static const char *const ips2[] = {"10.96.0.1", "10.250.0.7", NULL};
    ensure(dir, ips1);
    char *cmd = xasprintf("cat %s/ca.crt %s/apiserver.crt %s/admin.crt %s/sa.key | sha256sum", dir,
                          dir, dir, dir);
    char *before = sh_out(cmd);
    ensure(dir, ips1);
    char *same = sh_out(cmd);
    KT_ASSERT_STREQ(before, same);
    char *ca_cmd = xasprintf("sha256sum < %s/ca.crt", dir);
    char *ca_before = sh_out(ca_cmd);
    ensure(dir, ips2);
    char *after = sh_out(cmd);
    char *ca_after = sh_out(ca_cmd);
    KT_ASSERT(strcmp(before, after) != 0);
    KT_ASSERT_STREQ(ca_before, ca_after);
    free(before), free(same), free(after), free(ca_before), free(ca_after), free(cmd), free(ca_cmd);
    free(dir);
}

KT_TEST(pki, ca_hash_matches_openssl)
{
    char *dir = xasprintf("%s/data", kt_tmpdir());
    ensure(dir, NULL);
    char *ca = xasprintf("%s/ca.crt", dir);
    char hash[80];
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_pki_ca_hash(ca, hash, sizeof(hash), &err), err);
    char *cmd = xasprintf("openssl x509 -in %s -pubkey -noout | openssl pkey -pubin -outform der "
                          "| sha256sum | cut -d' ' -f1",
                          ca);
    char *want = sh_out(cmd);
    want[strcspn(want, "\n")] = '\0';
    KT_ASSERT(strncmp(hash, "sha256:", 7) == 0);
    KT_ASSERT_STREQ(hash + 7, want);
    KT_ASSERT_FAILS(kn_pki_ca_hash("/nonexistent", hash, sizeof(hash), &err));
    kn_error_free(&err);
    free(want), free(cmd), free(ca), free(dir);
}

KT_TEST(pki, signs_node_csr)
{
    char *dir = xasprintf("%s/data", kt_tmpdir());
    ensure(dir, NULL);
    char *cmd = xasprintf("cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                          "-nodes -keyout node.key -subj '/O=system:nodes/CN=system:node:n1' "
                          "2>/dev/null",
                          dir);
    char *csr = sh_out(cmd);
    KT_ASSERT_CONTAINS(csr, "BEGIN CERTIFICATE REQUEST");
    char *pem = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_pki_sign_client_csr(dir, csr, 365, &pem, &err), err);
    char *path = xasprintf("%s/node.crt", dir);
    FILE *f = fopen(path, "w");
    fputs(pem, f);
    fclose(f);
    KT_ASSERT_EQ(sh("cd %s && openssl verify -CAfile ca.crt node.crt >/dev/null", dir), 0);
    KT_ASSERT_FAILS(kn_pki_sign_client_csr(dir, "not a csr", 1, &pem, &err));
    kn_error_free(&err);
    free(path), free(pem), free(csr), free(cmd), free(dir);
}

KT_TEST(pki, kubelet_client_and_self_signed_serving)
{
    char *dir = xasprintf("%s/data", kt_tmpdir());
    ensure(dir, NULL);
    KT_ASSERT_EQ(mode_of(dir, "apiserver-kubelet-client.key"), 0600);
    KT_ASSERT_EQ(
        sh("cd %s && openssl verify -CAfile ca.crt apiserver-kubelet-client.crt >/dev/null", dir),
        0);
    char *cmd = xasprintf("openssl x509 -in %s/apiserver-kubelet-client.crt -noout -subject", dir);
    char *subj = sh_out(cmd);
    KT_ASSERT_CONTAINS(subj, "O = system:masters");
    KT_ASSERT_CONTAINS(subj, "CN = kube-apiserver-kubelet-client");
    free(subj);
    free(cmd);
    static const char *const dns[] = {"node-a", NULL};
    static const char *const ips[] = {"10.250.0.1", NULL};
    char *crt = xasprintf("%s/kubelet.crt", dir), *key = xasprintf("%s/kubelet.key", dir);
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_pki_self_signed_serving("node-a", dns, ips, crt, key, &err), err);
    KT_ASSERT_EQ(mode_of(dir, "kubelet.key"), 0600);
    KT_ASSERT_EQ(sh("cd %s && openssl verify -CAfile kubelet.crt kubelet.crt >/dev/null", dir), 0);
    cmd = xasprintf("openssl x509 -in %s -noout -ext subjectAltName,extendedKeyUsage", crt);
    char *san = sh_out(cmd);
    KT_ASSERT_CONTAINS(san, "DNS:node-a");
    KT_ASSERT_CONTAINS(san, "IP Address:10.250.0.1");
    KT_ASSERT_CONTAINS(san, "TLS Web Server Authentication");
    free(san);
    free(cmd);
    free(crt);
    free(key);
    free(dir);
}
