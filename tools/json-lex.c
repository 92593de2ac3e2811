/* A bounded JSON lexer for vcprr's own summary files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/json-lex.h"

#define MAX_DEPTH 32

void json_lex_init(struct json_lex *l, const char *buf, size_t len)
{
	memset(l, 0, sizeof(*l));
	l->buf = buf;
	l->len = len;
}

static enum json_token fail(struct json_lex *l, const char *what)
{
	snprintf(l->err, sizeof(l->err), "byte %zu: %s", l->tok_pos, what);
	return JSON_ERROR;
}

/* A \uXXXX of the ASCII range (all vcprr writes); others are refused. */
static int unicode_escape(struct json_lex *l)
{
	unsigned v = 0;

	if (l->pos + 4 > l->len)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = l->buf[l->pos++];
		v = v * 16 + (c >= '0' && c <= '9' ? c - '0' :
			      c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			      c >= 'A' && c <= 'F' ? c - 'A' + 10 : 999);
	}
	return v < 0x80 ? (int)v : -1;
}

static enum json_token string(struct json_lex *l)
{
	static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	size_t n = 0;

	while (l->pos < l->len) {
		char c = l->buf[l->pos++];
		const char *e;

		if (c == '"') {
			l->text[n] = 0;
			return JSON_STRING;
		}
		if ((unsigned char)c < 0x20)
			return fail(l, "a control character in a string");
		if (c == '\\') {
			if (l->pos >= l->len)
				break;
			c = l->buf[l->pos++];
			if (c == 'u') {
				int u = unicode_escape(l);
				if (u < 0)
					return fail(l, "a bad \\u escape");
				c = (char)u;
			} else if (c && (e = strchr(esc, c)) && !((e - esc) & 1)) {
				c = e[1];
			} else {
				return fail(l, "a bad escape in a string");
			}
		}
		if (n + 1 >= sizeof(l->text))
			return fail(l, "a string too long");
		l->text[n++] = c;
	}
	return fail(l, "a string without its end");
}

static enum json_token number(struct json_lex *l)
{
	size_t n = 0;

	while (l->pos < l->len && strchr("0123456789+-.eE", l->buf[l->pos]) &&
	       l->buf[l->pos]) {
		if (n + 1 >= 64)
			return fail(l, "a number too long");
		l->text[n++] = l->buf[l->pos++];
	}
	l->text[n] = 0;
	return JSON_NUMBER;
}

static enum json_token word(struct json_lex *l, const char *w,
			    enum json_token t)
{
	size_t n = strlen(w);

	if (l->len - l->pos < n || memcmp(l->buf + l->pos, w, n))
		return fail(l, "not JSON");
	l->pos += n;
	return t;
}

enum json_token json_next(struct json_lex *l)
{
	char c;

	while (l->pos < l->len && strchr(" \t\r\n", l->buf[l->pos]) &&
	       l->buf[l->pos])
		l->pos++;
	l->tok_pos = l->pos;
	if (l->pos >= l->len)
		return JSON_END;
	c = l->buf[l->pos++];
	switch (c) {
	case '{': return JSON_OBJECT;
	case '}': return JSON_OBJECT_END;
	case '[': return JSON_ARRAY;
	case ']': return JSON_ARRAY_END;
	case ':': return JSON_COLON;
	case ',': return JSON_COMMA;
	case '"': return string(l);
	case 't': l->pos--; return word(l, "true", JSON_TRUE);
	case 'f': l->pos--; return word(l, "false", JSON_FALSE);
	case 'n': l->pos--; return word(l, "null", JSON_NULL);
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		l->pos--;
		return number(l);
	}
	return fail(l, "not JSON");
}

bool json_expect(struct json_lex *l, enum json_token want, const char *what)
{
	enum json_token t = json_next(l);

	if (t == want)
		return true;
	if (t != JSON_ERROR)
		snprintf(l->err, sizeof(l->err), "byte %zu: expected %s",
			 l->tok_pos, what);
	return false;
}

static bool skip_depth(struct json_lex *l, enum json_token t, int depth)
{
	enum json_token end = t == JSON_OBJECT ? JSON_OBJECT_END : JSON_ARRAY_END;

	if (t == JSON_STRING || t == JSON_NUMBER || t == JSON_TRUE ||
	    t == JSON_FALSE || t == JSON_NULL)
		return true;
	if ((t != JSON_OBJECT && t != JSON_ARRAY) || depth > MAX_DEPTH) {
		if (t != JSON_ERROR)
			fail(l, depth > MAX_DEPTH ? "nested too deep" :
			     "expected a value");
		return false;
	}
	for (bool first = true;; first = false) {
		t = json_next(l);
		if (t == end && first)
			return true;
		if (end == JSON_OBJECT_END) {
			if (t != JSON_STRING) {
				if (t != JSON_ERROR)
					fail(l, "expected a key");
				return false;
			}
			if (!json_expect(l, JSON_COLON, "':'"))
				return false;
			t = json_next(l);
		}
		if (!skip_depth(l, t, depth + 1))
			return false;
		t = json_next(l);
		if (t == end)
			return true;
		if (t != JSON_COMMA) {
			if (t != JSON_ERROR)
				fail(l, "expected ',' or the end");
			return false;
		}
	}
}

bool json_skip(struct json_lex *l, enum json_token first)
{
	return skip_depth(l, first, 0);
}

bool json_u64(struct json_lex *l, uint64_t *v)
{
	char *end;

	errno = 0;
	if (l->text[0] < '0' || l->text[0] > '9')
		return false;
	*v = strtoull(l->text, &end, 10);
	return !errno && !*end;
}

bool json_double(struct json_lex *l, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(l->text, &end);
	return !errno && !*end && end != l->text;
}
