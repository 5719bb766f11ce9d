/* cni.c - the node's CNI configuration. */
#include "kubelet/cni.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"

/* The gateway (first host address) of an IPv4 CIDR. */
static int gateway(const char *cidr, char *gw, size_t size, kn_error **err)
{
    char addr[INET_ADDRSTRLEN + 4];
    const char *slash = strchr(cidr, '/');
    char *end = NULL;
    long len = slash ? strtol(slash + 1, &end, 10) : -1;
    struct in_addr a;
    if (!slash || (size_t)(slash - cidr) >= sizeof(addr) || !end || *end || len < 8 || len > 30)
        return kn_error_set(err, KN_EINVAL, "pod CIDR \"%s\": not an IPv4 CIDR (/8 to /30)", cidr);
    memcpy(addr, cidr, (size_t)(slash - cidr));
    addr[slash - cidr] = '\0';
    if (inet_pton(AF_INET, addr, &a) != 1)
        return kn_error_set(err, KN_EINVAL, "pod CIDR \"%s\": not an IPv4 CIDR", cidr);
    uint32_t mask = len == 0 ? 0 : ~UINT32_C(0) << (32 - len);
    uint32_t net = ntohl(a.s_addr) & mask;
    a.s_addr = htonl(net + 1);
    inet_ntop(AF_INET, &a, gw, (socklen_t)size);
    return 0;
}

static cJSON *bridge(const kl_cni_opts *o, const char *gw)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "bridge");
    cJSON_AddStringToObject(b, "bridge", "cni0");
    cJSON_AddBoolToObject(b, "isGateway", true);
    cJSON_AddBoolToObject(b, "ipMasq", o->ip_masq);
    cJSON_AddBoolToObject(b, "hairpinMode", true);
    if (o->mtu > 0)
        cJSON_AddNumberToObject(b, "mtu", o->mtu);
    cJSON *ipam = cJSON_AddObjectToObject(b, "ipam");
    cJSON_AddStringToObject(ipam, "type", "host-local");
    if (o->data_dir && *o->data_dir)
        cJSON_AddStringToObject(ipam, "dataDir", o->data_dir);
    cJSON *range = cJSON_CreateObject();
    cJSON_AddStringToObject(range, "subnet", o->pod_cidr);
    cJSON_AddStringToObject(range, "gateway", gw);
    cJSON *set = cJSON_CreateArray();
    cJSON_AddItemToArray(set, range);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(ipam, "ranges"), set);
    cJSON *route = cJSON_CreateObject();
    cJSON_AddStringToObject(route, "dst", "0.0.0.0/0");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(ipam, "routes"), route);
    return b;
}

int kl_cni_conflist(const kl_cni_opts *o, char **out, kn_error **err)
{
    char gw[INET_ADDRSTRLEN];
    if (!o->pod_cidr || gateway(o->pod_cidr, gw, sizeof(gw), err) < 0)
        return kn_error_set(err, KN_EINVAL, "no pod CIDR");
    cleanup_cjson cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "cniVersion", "1.0.0");
    cJSON_AddStringToObject(c, "name", KL_CNI_NETWORK);
    cJSON *plugins = cJSON_AddArrayToObject(c, "plugins");
    cJSON_AddItemToArray(plugins, bridge(o, gw));
    cJSON *pm = cJSON_CreateObject();
    cJSON_AddStringToObject(pm, "type", "portmap");
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(pm, "capabilities"), "portMappings", true);
    cJSON_AddItemToArray(plugins, pm);
    *out = cJSON_Print(c);
    return 0;
}

/* Writes text to dir/name unless it already holds it. */
static int write_file(const char *dir, const char *name, const char *text, bool *changed,
                      kn_error **err)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    cleanup_free char *tmp = xasprintf("%s/.%s.tmp", dir, name);
    cleanup_file FILE *old = fopen(path, "r");
    if (old) {
        char buf[8192];
        size_t n = fread(buf, 1, sizeof(buf) - 1, old);
        buf[n] = '\0';
        if (strcmp(buf, text) == 0)
            return 0;
    }
    FILE *f = fopen(tmp, "w");
    if (!f)
        return kn_error_errno(err, errno, "write %s", tmp);
    bool ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return kn_error_errno(err, e, "write %s", path);
    }
    if (changed)
        *changed = true;
    return 0;
}

static int mkdir_p(const char *dir, kn_error **err)
{
    cleanup_free char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return kn_error_errno(err, errno, "mkdir %s", p);
        *s = '/';
    }
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return kn_error_errno(err, errno, "mkdir %s", p);
    return 0;
}

int kl_cni_write(const kl_cni_opts *o, bool *changed, kn_error **err)
{
    const char *dir = o->conf_dir && *o->conf_dir ? o->conf_dir : KL_CNI_CONF_DIR;
    if (changed)
        *changed = false;
    cleanup_free char *text = NULL;
    if (kl_cni_conflist(o, &text, err) < 0 || mkdir_p(dir, err) < 0)
        return -1;
    static const char loopback[] =
        "{\n\t\"cniVersion\": \"1.0.0\",\n\t\"name\": \"lo\",\n\t\"type\": \"loopback\"\n}";
    if (write_file(dir, "10-knode.conflist", text, changed, err) < 0 ||
        write_file(dir, "99-loopback.conf", loopback, changed, err) < 0)
        return kn_error_wrap(err, "CNI configuration");
    return 0;
}
