/*
 * The codec benchmark for protobuf-c: the same three messages, with the same values, as
 * bench/codec/Sources/codec-bench/Values.swift; encode (get_packed_size + pack into a buffer) and
 * decode (unpack + free_unpacked) ns/op, timed like codec-bench (calibrated batches of ~30 ms;
 * median and best of 11).
 *
 *   cc -O2 -I. bench.c weft_testing/bench.pb-c.c -lprotobuf-c -o bench
 *   ./bench [--smoke] [--only pod|jobrecord|blob] [--dump DIR]
 *
 * Prints one machine-readable line per measurement:
 *   RESULT protobuf-c <shape> <encode|decode> <median ns/op> <best ns/op> <encoded bytes> <iterations/batch>
 * --dump DIR writes DIR/<shape>.bin, which codec-bench --check-c DIR decodes and compares.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft_testing/bench.pb-c.h"

/* ---- Values ---------------------------------------------------------------------------------- */

typedef struct { const char *k, *v; } KV;
typedef struct { const char *name, *path; int read_only; } Mount;
typedef struct {
    const char *name, *image;
    const char *command[4]; size_t n_command;
    const char *args[8]; size_t n_args;
    KV env[8]; size_t n_env;
    KV requests[4]; size_t n_requests;
    KV limits[4]; size_t n_limits;
    Mount mounts[4]; size_t n_mounts;
    const char *working_dir;
    int32_t ports[4]; size_t n_ports;
} ContainerValues;

static const KV labels[] = {
    {"app", "api-server"},
    {"app.kubernetes.io/name", "api-server"},
    {"app.kubernetes.io/version", "2.14.3"},
    {"pod-template-hash", "7d9f8b6c5"},
    {"tier", "backend"},
    {"environment", "production"},
};
static const KV annotations[] = {
    {"prometheus.io/scrape", "true"},
    {"prometheus.io/port", "9090"},
    {"kubectl.kubernetes.io/restartedAt", "2024-05-14T09:21:07Z"},
    {"cluster-autoscaler.kubernetes.io/safe-to-evict", "false"},
};
static const KV node_selector[] = {
    {"kubernetes.io/os", "linux"},
    {"node.kubernetes.io/instance-type", "m5.xlarge"},
};
#define SA_MOUNT {"kube-api-access-5x7qz", "/var/run/secrets/kubernetes.io/serviceaccount", 1}

static const ContainerValues init_containers[] = {
    {
        "migrate", "registry.example.com/platform/api-server:2.14.3",
        {"/usr/local/bin/api-server"}, 1,
        {"migrate", "--config=/etc/api/config.yaml", "--timeout=120s"}, 3,
        {
            {"DATABASE_URL", "postgres://api@db.production.svc.cluster.local:5432/api"},
            {"DATABASE_PASSWORD_FILE", "/etc/api/secrets/db-password"},
            {"LOG_FORMAT", "json"},
            {"LOG_LEVEL", "info"},
            {"MIGRATIONS_DIR", "/app/migrations"},
            {"POD_NAME", "api-server-7d9f8b6c5-x2k4p"},
            {"POD_NAMESPACE", "production"},
            {"TZ", "UTC"},
        }, 8,
        {{"cpu", "100m"}, {"memory", "128Mi"}}, 2,
        {{"cpu", "500m"}, {"memory", "256Mi"}}, 2,
        {{"config", "/etc/api", 1}, SA_MOUNT}, 2,
        "/app",
        {0}, 0,
    },
};

static const ContainerValues containers[] = {
    {
        "api", "registry.example.com/platform/api-server:2.14.3",
        {"/usr/local/bin/api-server"}, 1,
        {"serve", "--config=/etc/api/config.yaml", "--port=8080", "--metrics-port=9090"}, 4,
        {
            {"DATABASE_URL", "postgres://api@db.production.svc.cluster.local:5432/api"},
            {"REDIS_ADDR", "redis.production.svc.cluster.local:6379"},
            {"LOG_FORMAT", "json"},
            {"GOMAXPROCS", "2"},
            {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.observability.svc:4317"},
            {"POD_NAME", "api-server-7d9f8b6c5-x2k4p"},
            {"POD_NAMESPACE", "production"},
            {"FEATURE_FLAGS", "new-billing,fast-path,audit-log"},
        }, 8,
        {{"cpu", "500m"}, {"memory", "512Mi"}, {"ephemeral-storage", "1Gi"}}, 3,
        {{"cpu", "2"}, {"memory", "1Gi"}}, 2,
        {{"config", "/etc/api", 1}, {"tmp", "/tmp", 0}, SA_MOUNT}, 3,
        "/app",
        {8080, 9090}, 2,
    },
    {
        "envoy", "docker.io/envoyproxy/envoy:v1.30.1",
        {"/usr/local/bin/envoy"}, 1,
        {"-c", "/etc/envoy/envoy.yaml", "--concurrency", "2", "--drain-time-s", "45"}, 6,
        {
            {"ENVOY_UID", "101"},
            {"ENVOY_GID", "101"},
            {"ENVOY_LOG_LEVEL", "warn"},
            {"ENVOY_ADMIN_PORT", "15000"},
            {"SERVICE_CLUSTER", "api-server"},
            {"SERVICE_NODE", "api-server-7d9f8b6c5-x2k4p.production"},
            {"POD_IP", "10.42.3.117"},
            {"HOST_IP", "192.168.12.34"},
        }, 8,
        {{"cpu", "100m"}, {"memory", "128Mi"}}, 2,
        {{"cpu", "1"}, {"memory", "256Mi"}}, 2,
        {{"envoy-config", "/etc/envoy", 1}, SA_MOUNT}, 2,
        "",
        {15001, 15000, 15090}, 3,
    },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) { fprintf(stderr, "error: out of memory\n"); exit(1); }
    return p;
}

/* All map entry types share one layout: a message base, then key and value. Fills `n` entries
 * with `init` and returns an array of pointers to them. */
#define MAP_ENTRIES(Type, INIT, kvs, n) ({                       \
    Type **arr_ = xcalloc((n), sizeof(Type *));                   \
    for (size_t i_ = 0; i_ < (n); i_++) {                         \
        Type *e_ = xcalloc(1, sizeof(Type));                      \
        Type init_ = INIT;                                        \
        *e_ = init_;                                              \
        e_->key = (char *)(kvs)[i_].k;                            \
        e_->value = (char *)(kvs)[i_].v;                          \
        arr_[i_] = e_;                                            \
    }                                                             \
    arr_;                                                         \
})

static Weft__Bench__Container *make_container(const ContainerValues *c) {
    Weft__Bench__Container *m = xcalloc(1, sizeof *m);
    weft__bench__container__init(m);
    m->name = (char *)c->name;
    m->image = (char *)c->image;
    m->n_command = c->n_command;
    m->command = (char **)c->command;
    m->n_args = c->n_args;
    m->args = (char **)c->args;
    m->n_env = c->n_env;
    m->env = xcalloc(c->n_env, sizeof *m->env);
    for (size_t i = 0; i < c->n_env; i++) {
        Weft__Bench__EnvVar *e = xcalloc(1, sizeof *e);
        weft__bench__env_var__init(e);
        e->name = (char *)c->env[i].k;
        e->value = (char *)c->env[i].v;
        m->env[i] = e;
    }
    Weft__Bench__Resources *r = xcalloc(1, sizeof *r);
    weft__bench__resources__init(r);
    r->n_requests = c->n_requests;
    r->requests = MAP_ENTRIES(Weft__Bench__Resources__RequestsEntry, WEFT__BENCH__RESOURCES__REQUESTS_ENTRY__INIT,
                              c->requests, c->n_requests);
    r->n_limits = c->n_limits;
    r->limits = MAP_ENTRIES(Weft__Bench__Resources__LimitsEntry, WEFT__BENCH__RESOURCES__LIMITS_ENTRY__INIT,
                            c->limits, c->n_limits);
    m->resources = r;
    m->n_volume_mounts = c->n_mounts;
    m->volume_mounts = xcalloc(c->n_mounts, sizeof *m->volume_mounts);
    for (size_t i = 0; i < c->n_mounts; i++) {
        Weft__Bench__VolumeMount *v = xcalloc(1, sizeof *v);
        weft__bench__volume_mount__init(v);
        v->name = (char *)c->mounts[i].name;
        v->mount_path = (char *)c->mounts[i].path;
        v->read_only = c->mounts[i].read_only;
        m->volume_mounts[i] = v;
    }
    m->working_dir = (char *)c->working_dir;
    m->n_ports = c->n_ports;
    m->ports = (int32_t *)c->ports;
    return m;
}

static Weft__Bench__Pod *make_pod(void) {
    Weft__Bench__ObjectMeta *meta = xcalloc(1, sizeof *meta);
    weft__bench__object_meta__init(meta);
    meta->name = "api-server-7d9f8b6c5-x2k4p";
    meta->namespace_ = "production";
    meta->uid = "3f8e2a1c-6b4d-4e9f-a7c2-9d1e5f3b8a60";
    meta->n_labels = COUNT(labels);
    meta->labels = MAP_ENTRIES(Weft__Bench__ObjectMeta__LabelsEntry, WEFT__BENCH__OBJECT_META__LABELS_ENTRY__INIT,
                               labels, COUNT(labels));
    meta->n_annotations = COUNT(annotations);
    meta->annotations = MAP_ENTRIES(Weft__Bench__ObjectMeta__AnnotationsEntry,
                                    WEFT__BENCH__OBJECT_META__ANNOTATIONS_ENTRY__INIT, annotations, COUNT(annotations));
    meta->creation_timestamp = 1715678467;

    Weft__Bench__Pod *p = xcalloc(1, sizeof *p);
    weft__bench__pod__init(p);
    p->metadata = meta;
    p->n_init_containers = COUNT(init_containers);
    p->init_containers = xcalloc(COUNT(init_containers), sizeof *p->init_containers);
    for (size_t i = 0; i < COUNT(init_containers); i++) p->init_containers[i] = make_container(&init_containers[i]);
    p->n_containers = COUNT(containers);
    p->containers = xcalloc(COUNT(containers), sizeof *p->containers);
    for (size_t i = 0; i < COUNT(containers); i++) p->containers[i] = make_container(&containers[i]);
    p->restart_policy = "Always";
    p->n_node_selector = COUNT(node_selector);
    p->node_selector = MAP_ENTRIES(Weft__Bench__Pod__NodeSelectorEntry, WEFT__BENCH__POD__NODE_SELECTOR_ENTRY__INIT,
                                   node_selector, COUNT(node_selector));
    p->phase = "Running";
    return p;
}

static Weft__Bench__JobRecord *make_job_record(void) {
    Weft__Bench__JobRecord *j = xcalloc(1, sizeof *j);
    weft__bench__job_record__init(j);
    j->site = "UKI-NORTHGRID-MAN-HEP";
    j->submit_host = "ce01.tier2.hep.manchester.ac.uk:8443/cream-pbs-long";
    j->machine_name = "wn2204.tier2.hep.manchester.ac.uk";
    j->queue = "long";
    j->local_job_id = "8812345.ce01.tier2.hep.manchester.ac.uk";
    j->local_user_id = "atlasprd042";
    j->global_user_name = "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=atlpilo1/CN=614260/CN=Robot: ATLAS Pilot1";
    j->fqan = "/atlas/Role=production/Capability=NULL";
    j->vo = "atlas";
    j->wall_duration = 86123;
    j->cpu_duration = 672345;
    j->processors = 8;
    j->node_count = 1;
    j->start_time = 1715590000;
    j->end_time = 1715676123;
    j->infrastructure = "APEL-CREAM-HTCONDOR";
    j->memory_real = 16384000;
    j->memory_virtual = 20971520;
    j->service_level = 10.87;
    j->service_level_type = "HEPSPEC";
    j->exit_status = 1;
    return j;
}

#define BLOB_SIZE (1 << 20)

static Weft__Bench__Blob *make_blob(void) {
    uint8_t *bytes = xcalloc(BLOB_SIZE, 1);
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < BLOB_SIZE; i++) {
        x = x * 1664525u + 1013904223u;
        bytes[i] = (uint8_t)(x >> 24);
    }
    Weft__Bench__Blob *b = xcalloc(1, sizeof *b);
    weft__bench__blob__init(b);
    b->payload.len = BLOB_SIZE;
    b->payload.data = bytes;
    return b;
}

/* ---- Timing ---------------------------------------------------------------------------------- */

static volatile size_t sink;
static uint8_t *out_buf;

static const ProtobufCMessage *messages[3];
static const ProtobufCMessageDescriptor *descriptors[3];
static const char *const shape_names[3] = {"pod", "jobrecord", "blob"};
static uint8_t *encoded[3];
static size_t encoded_len[3];

static size_t encode_n(int shape, size_t n) {
    size_t sum = 0;
    const ProtobufCMessage *m = messages[shape];
    for (size_t i = 0; i < n; i++) {
        size_t size = protobuf_c_message_get_packed_size(m);
        sum += protobuf_c_message_pack(m, out_buf) + size;
    }
    return sum;
}

static size_t use_decoded(int shape, const ProtobufCMessage *m) {
    switch (shape) {
    case 0: {
        const Weft__Bench__Pod *p = (const Weft__Bench__Pod *)m;
        return p->n_containers + strlen(p->metadata->name);
    }
    case 1: {
        const Weft__Bench__JobRecord *j = (const Weft__Bench__JobRecord *)m;
        return (size_t)j->wall_duration + strlen(j->site);
    }
    default: return ((const Weft__Bench__Blob *)m)->payload.len;
    }
}

static size_t decode_n(int shape, size_t n) {
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *m = protobuf_c_message_unpack(descriptors[shape], NULL, encoded_len[shape], encoded[shape]);
        if (!m) { fprintf(stderr, "error: protobuf-c cannot decode %s\n", shape_names[shape]); exit(1); }
        sum += use_decoded(shape, m);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return sum;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double run(size_t (*body)(int, size_t), int shape, size_t n) {
    double t0 = now_ns();
    sink += body(shape, n);
    return now_ns() - t0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Calibrates n so that one batch takes about batch_ns, then times `batches` batches. */
static void measure(size_t (*body)(int, size_t), int shape, const char *op, double batch_ns, int batches) {
    size_t n = 1;
    double t = run(body, shape, n);
    while (t < batch_ns / 8) {
        n *= 2;
        t = run(body, shape, n);
    }
    double per_op = t / (double)n;
    n = (size_t)(batch_ns / per_op + 0.5);
    if (n < 1) n = 1;
    double times[64];
    for (int b = 0; b < batches; b++) times[b] = run(body, shape, n) / (double)n;
    qsort(times, (size_t)batches, sizeof times[0], cmp_double);
    printf("RESULT protobuf-c %s %s %.1f %.1f %zu %zu\n", shape_names[shape], op, times[batches / 2], times[0],
           encoded_len[shape], n);
    fflush(stdout);
}

int main(int argc, char **argv) {
    int smoke = 0, only = -1;
    const char *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke")) smoke = 1;
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            const char *s = argv[++i];
            for (int k = 0; k < 3; k++) if (!strcmp(s, shape_names[k])) only = k;
            if (only < 0) { fprintf(stderr, "error: unknown shape %s\n", s); return 1; }
        } else { fprintf(stderr, "error: unknown argument %s\n", argv[i]); return 1; }
    }

    messages[0] = (const ProtobufCMessage *)make_pod();
    messages[1] = (const ProtobufCMessage *)make_job_record();
    messages[2] = (const ProtobufCMessage *)make_blob();
    descriptors[0] = &weft__bench__pod__descriptor;
    descriptors[1] = &weft__bench__job_record__descriptor;
    descriptors[2] = &weft__bench__blob__descriptor;
    out_buf = xcalloc(BLOB_SIZE + 64, 1);
    for (int s = 0; s < 3; s++) {
        encoded_len[s] = protobuf_c_message_get_packed_size(messages[s]);
        encoded[s] = xcalloc(encoded_len[s], 1);
        if (protobuf_c_message_pack(messages[s], encoded[s]) != encoded_len[s]) {
            fprintf(stderr, "error: protobuf-c packed size mismatch for %s\n", shape_names[s]);
            return 1;
        }
        if (dump) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.bin", dump, shape_names[s]);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(encoded[s], 1, encoded_len[s], f) != encoded_len[s] || fclose(f)) {
                fprintf(stderr, "error: cannot write %s\n", path);
                return 1;
            }
        }
    }

    double batch_ns = smoke ? 1e6 : 30e6;
    int batches = smoke ? 3 : 11;
    for (int s = 0; s < 3; s++) {
        if (only >= 0 && s != only) continue;
        measure(encode_n, s, "encode", batch_ns, batches);
        measure(decode_n, s, "decode", batch_ns, batches);
    }
    return sink == 42 ? 2 : 0;
}
