/* bench-lib.c - lib/ parsers beside their limits: YAML → cJSON beside
 * libyaml's bare event scan of the same bytes; lib/json parsing beside a bare
 * cJSON parse; quantity parsing beside strtoll of the same digits. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/json.h"
#include "lib/quantity.h"
#include "lib/yaml.h"
#include "test/bench/bench.h"

static const char manifest[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n"
    "  labels: {app: web, tier: front}\n  annotations:\n    note: \"a deployment for the "
    "benchmark\"\nspec:\n  replicas: 3\n  selector:\n    matchLabels: {app: web}\n"
    "  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
    "      - name: httpd\n        image: localhost/busybox:1.35\n        command: [httpd, -f, "
    "-p, \"8080\"]\n        ports:\n        - {containerPort: 8080, protocol: TCP}\n"
    "        env:\n        - {name: A, value: \"1\"}\n        - {name: B, value: two}\n"
    "        resources:\n          requests: {cpu: 100m, memory: 64Mi}\n"
    "          limits: {cpu: 500m, memory: 128Mi}\n";

static void scan_events(const char *data, size_t len)
{
    yaml_parser_t p;
    yaml_event_t ev;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev))
            break;
        int done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (done)
            break;
    }
    yaml_parser_delete(&p);
}

static void bench_yaml(int n)
{
    size_t len = strlen(manifest);
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        cJSON *doc = NULL;
        if (kn_yaml_parse(manifest, len, 0, "bench", 0, &doc, NULL) == 0)
            cJSON_Delete(doc);
    }
    double ours = (bench_now() - t0) / n * 1e6;
    t0 = bench_now();
    for (int i = 0; i < n; i++)
        scan_events(manifest, len);
    double limit = (bench_now() - t0) / n * 1e6;
    bench_report("yaml: Deployment manifest to cJSON", ours, "libyaml event scan (limit)", limit,
                 "us/doc", 1);
}

static void bench_json(int n)
{
    cJSON *doc = NULL;
    kn_yaml_parse(manifest, strlen(manifest), 0, "bench", 0, &doc, NULL);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    size_t len = strlen(text);
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        cJSON *d = NULL;
        if (kn_json_parse(text, len, 0, &d, NULL) == 0)
            cJSON_Delete(d);
    }
    double ours = (bench_now() - t0) / n * 1e6;
    t0 = bench_now();
    for (int i = 0; i < n; i++)
        cJSON_Delete(cJSON_ParseWithLength(text, len));
    double limit = (bench_now() - t0) / n * 1e6;
    bench_report("json: strict parse with positions", ours, "bare cJSON parse (limit)", limit,
                 "us/doc", 1);
    free(text);
}

static void bench_quantity(int n)
{
    static const char *const in[] = {"100m", "1.5Gi", "128974848", "1e3", "250Mi", "2"};
    static const char *const digits[] = {"100", "15", "128974848", "1000", "250", "2"};
    volatile long long sink = 0;
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        kn_quantity q;
        if (kn_quantity_parse(in[i % 6], &q, NULL) == 0)
            sink += kn_quantity_milli_value(&q);
    }
    double ours = (bench_now() - t0) / n * 1e9;
    t0 = bench_now();
    for (int i = 0; i < n; i++)
        sink += strtoll(digits[i % 6], NULL, 10);
    double peer = (bench_now() - t0) / n * 1e9;
    bench_report("quantity: parse + milli value", ours, "strtoll of the digits (peer)", peer,
                 "ns/op", 1);
    (void)sink;
}

int main(void)
{
    bench_yaml(20000);
    bench_json(50000);
    bench_quantity(2000000);
    return 0;
}
