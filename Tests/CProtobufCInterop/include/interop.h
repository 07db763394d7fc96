// protobuf-c as an independent oracle for Weft's Swift codec (tests only).
#ifndef WEFT_PROTOBUF_C_INTEROP_H
#define WEFT_PROTOBUF_C_INTEROP_H
#include <stddef.h>
#include <stdint.h>

/// Decodes `weft.testing.AllTypes` with protobuf-c and encodes it again. Returns 0 on success and
/// sets *out (free with weft_c_free); -1 if protobuf-c cannot decode the bytes.
int weft_c_reencode(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

/// Decodes `weft.testing.AllTypes` with protobuf-c and writes a text summary of every field's value
/// into buf (NUL-terminated). Returns the summary length, or -1 if decoding fails or the message had
/// fields protobuf-c did not recognise.
int weft_c_summary(const uint8_t *in, size_t len, char *buf, size_t cap);

/// Builds an AllTypes in C with every field set and encodes it; free *out with weft_c_free.
int weft_c_build_sample(uint8_t **out, size_t *out_len);

/// Frees a buffer returned by this module.
void weft_c_free(uint8_t *p);
#endif
