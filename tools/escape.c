#include "tools/escape.h"

#include <stdlib.h>
#include <string.h>

void bytes_free(struct bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int bytes_reserve(struct bytes *b, size_t more)
{
	if (more <= b->cap - b->len)
		return 0;
	if (more > (size_t)-1 / 2 - b->len)
		return -1;
	size_t cap = b->cap ? b->cap : 64;
	while (cap - b->len < more)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int bytes_append(struct bytes *b, const void *p, size_t n)
{
	/* (reserve even for n == 0: data is then never NULL, a valid empty key) */
	if (bytes_reserve(b, n ? n : 1))
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int bytes_set(struct bytes *b, const void *p, size_t n)
{
	b->len = 0;
	return bytes_append(b, p, n);
}

static const char hexdigits[] = "0123456789abcdef";

static int plain(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e && c != '\\';
}

int escape_write(FILE *f, const void *p, size_t n, int hex)
{
	const unsigned char *s = p;
	if (hex) {
		for (size_t i = 0; i < n; i++)
			if (putc(hexdigits[s[i] >> 4], f) == EOF || putc(hexdigits[s[i] & 15], f) == EOF)
				return EOF;
		return 0;
	}
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		while (run < n && plain(s[run]))
			run++;
		if (run > i && fwrite(s + i, 1, run - i, f) != run - i)
			return EOF;
		i = run;
		if (i == n)
			break;
		char esc[4] = { '\\', 0, 0, 0 };
		size_t len = 2;
		switch (s[i]) {
		case '\\': esc[1] = '\\'; break;
		case '\t': esc[1] = 't'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			esc[1] = 'x';
			esc[2] = hexdigits[s[i] >> 4];
			esc[3] = hexdigits[s[i] & 15];
			len = 4;
		}
		if (fwrite(esc, 1, len, f) != len)
			return EOF;
		i++;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *s, size_t n, struct bytes *out, size_t *bad_at, const char **why)
{
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(s[i]);
		int lo = i + 1 < n ? hexval(s[i + 1]) : -1;
		if (hi < 0 || lo < 0) {
			*bad_at = hi < 0 ? i : i + 1;
			*why = i + 1 < n || hi < 0 ? "not a hex digit" : "odd number of hex digits";
			return -1;
		}
		char c = (char)(hi << 4 | lo);
		if (bytes_append(out, &c, 1))
			return -2;
	}
	return 0;
}

/* strict: bytes outside the escaped form's plain set are refused. */
static int parse(const char *s, size_t n, int hex, int strict, struct bytes *out, size_t *bad_at,
                 const char **why)
{
	out->len = 0;
	if (bytes_append(out, "", 0))
		return -2;
	if (hex)
		return parse_hex(s, n, out, bad_at, why);
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c != '\\') {
			if (strict && !plain(c)) {
				*bad_at = i;
				*why = c == '\t' ? "a second tab (a tab in a key or value is written \\t)"
				                 : "a byte that must be escaped";
				return -1;
			}
			if (bytes_append(out, &s[i], 1))
				return -2;
			i++;
			continue;
		}
		if (i + 1 == n) {
			*bad_at = i;
			*why = "a backslash at the end";
			return -1;
		}
		char b;
		size_t len = 2;
		switch (s[i + 1]) {
		case '\\': b = '\\'; break;
		case 't': b = '\t'; break;
		case 'n': b = '\n'; break;
		case 'r': b = '\r'; break;
		case 'x': {
			int hi = i + 2 < n ? hexval(s[i + 2]) : -1;
			int lo = i + 3 < n ? hexval(s[i + 3]) : -1;
			if (hi < 0 || lo < 0) {
				*bad_at = i;
				*why = "\\x not followed by two hex digits";
				return -1;
			}
			b = (char)(hi << 4 | lo);
			len = 4;
			break;
		}
		default:
			*bad_at = i;
			*why = "an unknown escape (known: \\\\ \\t \\n \\r \\xHH)";
			return -1;
		}
		if (bytes_append(out, &b, 1))
			return -2;
		i += len;
	}
	return 0;
}

int escape_parse_strict(const char *s, size_t n, int hex, struct bytes *out, size_t *bad_at,
                        const char **why)
{
	return parse(s, n, hex, 1, out, bad_at, why);
}

int escape_parse_arg(const char *s, int hex, struct bytes *out, size_t *bad_at, const char **why)
{
	return parse(s, strlen(s), hex, 0, out, bad_at, why);
}
