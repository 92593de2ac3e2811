/* Reading JSON that vcprr wrote (explore.json): a lexer over a buffer in
 * memory, for a reader that walks the structure it expects.  The text is
 * untrusted: every token is bounded, every error names its byte offset.
 * Not thread-safe per struct json_lex; the buffer stays the caller's. */
#ifndef VCPRR_TOOLS_JSON_LEX_H
#define VCPRR_TOOLS_JSON_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_token {
	JSON_ERROR, JSON_END, JSON_OBJECT, JSON_OBJECT_END, JSON_ARRAY,
	JSON_ARRAY_END, JSON_COLON, JSON_COMMA, JSON_STRING, JSON_NUMBER,
	JSON_TRUE, JSON_FALSE, JSON_NULL,
};

#define JSON_TEXT_MAX 4096

struct json_lex {
	const char *buf;
	size_t len, pos;
	size_t tok_pos;               /* where the last token starts */
	char text[JSON_TEXT_MAX];     /* a string's (unescaped) or number's text */
	char err[160];                /* set when JSON_ERROR is returned */
};

void json_lex_init(struct json_lex *l, const char *buf, size_t len);
enum json_token json_next(struct json_lex *l);
/* The next token must be @want: true, else false with l->err set. */
bool json_expect(struct json_lex *l, enum json_token want, const char *what);
/* Skips a value whose first token was @first (depth bounded). */
bool json_skip(struct json_lex *l, enum json_token first);
/* l->text of the last JSON_NUMBER as an unsigned integer / a double. */
bool json_u64(struct json_lex *l, uint64_t *v);
bool json_double(struct json_lex *l, double *v);

#endif
