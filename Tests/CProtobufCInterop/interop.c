// protobuf-c side of the byte-compatibility tests. The summary format must match the Swift test's.
#include "interop.h"
#include "weft_testing/types.pb-c.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int weft_c_reencode(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len) {
    Weft__Testing__AllTypes *m = weft__testing__all_types__unpack(NULL, len, in);
    if (!m) return -1;
    size_t n = weft__testing__all_types__get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    weft__testing__all_types__pack(m, buf);
    weft__testing__all_types__free_unpacked(m, NULL);
    *out = buf;
    *out_len = n;
    return 0;
}

typedef struct { char *buf; size_t cap, len; } Out;

static void put(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Out *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0) o->len += (size_t)n;
}

static void put_bytes(Out *o, ProtobufCBinaryData b) {
    put(o, "[");
    for (size_t i = 0; i < b.len; i++) put(o, "%s%u", i ? "," : "", b.data[i]);
    put(o, "]");
}

static void put_nested(Out *o, const Weft__Testing__Nested *n) {
    if (!n) { put(o, "nil"); return; }
    put(o, "{a=%d b=%s child=", n->a, n->b);
    put_nested(o, n->child);
    put(o, "}");
}

#define PUT_REPEATED(name, count, arr, fmt) do { \
    put(o, name "=["); \
    for (size_t i = 0; i < (count); i++) put(o, "%s" fmt, i ? "," : "", (arr)[i]); \
    put(o, "];"); } while (0)

static int summarize(Out *o, const Weft__Testing__AllTypes *m) {
    if (m->base.n_unknown_fields) return -1;
    put(o, "f_double=%.17g;f_float=%.9g;f_int64=%" PRId64 ";f_uint64=%" PRIu64 ";f_int32=%d;",
        m->f_double, (double)m->f_float, m->f_int64, m->f_uint64, m->f_int32);
    put(o, "f_fixed64=%" PRIu64 ";f_fixed32=%u;f_bool=%d;f_string=%s;f_bytes=",
        m->f_fixed64, m->f_fixed32, m->f_bool ? 1 : 0, m->f_string);
    put_bytes(o, m->f_bytes);
    put(o, ";f_uint32=%u;f_enum=%d;f_sfixed32=%d;f_sfixed64=%" PRId64 ";f_sint32=%d;f_sint64=%" PRId64 ";",
        m->f_uint32, (int)m->f_enum, m->f_sfixed32, m->f_sfixed64, m->f_sint32, m->f_sint64);
    put(o, "f_message=");
    put_nested(o, m->f_message);
    put(o, ";");
    PUT_REPEATED("r_double", m->n_r_double, m->r_double, "%.17g");
    put(o, "r_float=[");
    for (size_t i = 0; i < m->n_r_float; i++) put(o, "%s%.9g", i ? "," : "", (double)m->r_float[i]);
    put(o, "];");
    PUT_REPEATED("r_int64", m->n_r_int64, m->r_int64, "%" PRId64);
    PUT_REPEATED("r_uint64", m->n_r_uint64, m->r_uint64, "%" PRIu64);
    PUT_REPEATED("r_int32", m->n_r_int32, m->r_int32, "%d");
    PUT_REPEATED("r_fixed64", m->n_r_fixed64, m->r_fixed64, "%" PRIu64);
    PUT_REPEATED("r_fixed32", m->n_r_fixed32, m->r_fixed32, "%u");
    put(o, "r_bool=[");
    for (size_t i = 0; i < m->n_r_bool; i++) put(o, "%s%d", i ? "," : "", m->r_bool[i] ? 1 : 0);
    put(o, "];");
    PUT_REPEATED("r_string", m->n_r_string, m->r_string, "%s");
    put(o, "r_bytes=[");
    for (size_t i = 0; i < m->n_r_bytes; i++) { if (i) put(o, ","); put_bytes(o, m->r_bytes[i]); }
    put(o, "];");
    PUT_REPEATED("r_uint32", m->n_r_uint32, m->r_uint32, "%u");
    put(o, "r_enum=[");
    for (size_t i = 0; i < m->n_r_enum; i++) put(o, "%s%d", i ? "," : "", (int)m->r_enum[i]);
    put(o, "];");
    PUT_REPEATED("r_sfixed32", m->n_r_sfixed32, m->r_sfixed32, "%d");
    PUT_REPEATED("r_sfixed64", m->n_r_sfixed64, m->r_sfixed64, "%" PRId64);
    PUT_REPEATED("r_sint32", m->n_r_sint32, m->r_sint32, "%d");
    PUT_REPEATED("r_sint64", m->n_r_sint64, m->r_sint64, "%" PRId64);
    put(o, "r_message=[");
    for (size_t i = 0; i < m->n_r_message; i++) { if (i) put(o, ","); put_nested(o, m->r_message[i]); }
    put(o, "];");
    PUT_REPEATED("r_unpacked_int32", m->n_r_unpacked_int32, m->r_unpacked_int32, "%d");
    put(o, "m_string_string=%zu;m_int32_message=%zu;m_int64_bytes=%zu;m_bool_enum=%zu;m_uint32_double=%zu;m_sint64_string=%zu;",
        m->n_m_string_string, m->n_m_int32_message, m->n_m_int64_bytes, m->n_m_bool_enum, m->n_m_uint32_double,
        m->n_m_sint64_string);
    switch (m->choice_case) {
    case WEFT__TESTING__ALL_TYPES__CHOICE_C_INT32: put(o, "choice=c_int32:%d;", m->c_int32); break;
    case WEFT__TESTING__ALL_TYPES__CHOICE_C_STRING: put(o, "choice=c_string:%s;", m->c_string); break;
    case WEFT__TESTING__ALL_TYPES__CHOICE_C_MESSAGE: put(o, "choice=c_message:"); put_nested(o, m->c_message); put(o, ";"); break;
    default: put(o, "choice=none;"); break;
    }
    put(o, "recursive=");
    if (m->recursive) { put(o, "{"); if (summarize(o, m->recursive) < 0) return -1; put(o, "}"); } else put(o, "nil");
    put(o, ";f_large_number=%d", m->f_large_number);
    return 0;
}

int weft_c_summary(const uint8_t *in, size_t len, char *buf, size_t cap) {
    Weft__Testing__AllTypes *m = weft__testing__all_types__unpack(NULL, len, in);
    if (!m) return -1;
    Out o = { buf, cap, 0 };
    if (cap) buf[0] = 0;
    int rc = summarize(&o, m);
    weft__testing__all_types__free_unpacked(m, NULL);
    if (rc < 0 || o.len >= cap) return -1;
    return (int)o.len;
}

int weft_c_build_sample(uint8_t **out, size_t *out_len) {
    Weft__Testing__AllTypes m = WEFT__TESTING__ALL_TYPES__INIT;
    Weft__Testing__Nested n1 = WEFT__TESTING__NESTED__INIT, n2 = WEFT__TESTING__NESTED__INIT;
    n1.a = 7; n1.b = "seven"; n1.child = &n2; n2.a = -8; n2.b = "";
    m.f_double = -2.5e300; m.f_float = 3.25f; m.f_int64 = INT64_MIN; m.f_uint64 = UINT64_MAX;
    m.f_int32 = -123456; m.f_fixed64 = 0x0102030405060708ULL; m.f_fixed32 = 0xfeedbeef; m.f_bool = 1;
    m.f_string = "h\xc3\xa9llo, \xe2\x9c\x93"; static uint8_t bytes[] = { 0, 1, 255, 128 };
    m.f_bytes.data = bytes; m.f_bytes.len = sizeof bytes;
    m.f_uint32 = UINT32_MAX; m.f_enum = WEFT__TESTING__COLOR__COLOR_NEGATIVE; m.f_sfixed32 = INT32_MIN;
    m.f_sfixed64 = -9; m.f_sint32 = -1; m.f_sint64 = INT64_MAX;
    m.f_message = &n1;
    static double rd[] = { 1.5, -0.0 }; m.r_double = rd; m.n_r_double = 2;
    static int32_t ri[] = { 1, -1, 300 }; m.r_int32 = ri; m.n_r_int32 = 3;
    static int64_t rs[] = { -5, 5 }; m.r_sint64 = rs; m.n_r_sint64 = 2;
    static char *rstr[] = { "a", "", "ccc" }; m.r_string = rstr; m.n_r_string = 3;
    static Weft__Testing__Color re[] = { WEFT__TESTING__COLOR__COLOR_RED, WEFT__TESTING__COLOR__COLOR_GREEN };
    m.r_enum = re; m.n_r_enum = 2;
    static int32_t ru[] = { 9, 10 }; m.r_unpacked_int32 = ru; m.n_r_unpacked_int32 = 2;
    Weft__Testing__Nested *rm[] = { &n2, &n1 }; m.r_message = rm; m.n_r_message = 2;
    Weft__Testing__AllTypes__MStringStringEntry e1 = WEFT__TESTING__ALL_TYPES__MSTRING_STRING_ENTRY__INIT;
    e1.key = "k"; e1.value = "v";
    Weft__Testing__AllTypes__MStringStringEntry *es[] = { &e1 }; m.m_string_string = es; m.n_m_string_string = 1;
    m.choice_case = WEFT__TESTING__ALL_TYPES__CHOICE_C_STRING; m.c_string = "chosen";
    m.f_large_number = 99;
    size_t n = weft__testing__all_types__get_packed_size(&m);
    uint8_t *buf = malloc(n ? n : 1);
    weft__testing__all_types__pack(&m, buf);
    *out = buf;
    *out_len = n;
    return 0;
}

void weft_c_free(uint8_t *p) { free(p); }
