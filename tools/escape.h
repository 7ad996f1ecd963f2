/*
 * The CLI's text form of keys and values (shale(1), "ESCAPING").
 *
 * Escaped form: a printable ASCII byte (0x20..0x7e) other than the backslash
 * stands for itself; the backslash is written \\, tab \t, newline \n,
 * carriage return \r, and every other byte \xHH (two lowercase hex digits).
 * So an escaped string holds no tab and no newline, and a dump line
 * "KEY<tab>VALUE<newline>" splits at its only tab.
 *
 * Hex form (--hex): every byte as two lowercase hex digits.
 *
 * Parsing: escape_parse_strict accepts exactly the escaped form (what load
 * reads), and escape_parse_arg is the lenient one for command-line
 * arguments (any byte but the backslash stands for itself). Both accept
 * hex digits of either case.
 */
#ifndef SHALE_TOOLS_ESCAPE_H
#define SHALE_TOOLS_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* A growable byte string owned by whoever holds it. */
struct bytes {
	char *data;
	size_t len, cap;
};

void bytes_free(struct bytes *b);
/* 0, or -1 when memory runs out (b unchanged). */
int bytes_append(struct bytes *b, const void *p, size_t n);
int bytes_set(struct bytes *b, const void *p, size_t n);

/* Writes p[0..n) to f escaped (hex when hex). Returns 0 or EOF on a write
 * error. */
int escape_write(FILE *f, const void *p, size_t n, int hex);

/* Parses s[0..n) into out (replacing its contents). 0 on success; -1 with
 * *bad_at (index into s) and *why (a static description) when s is not
 * well formed; -2 when memory runs out. hex selects the hex form. */
int escape_parse_strict(const char *s, size_t n, int hex, struct bytes *out, size_t *bad_at,
                        const char **why);
int escape_parse_arg(const char *s, int hex, struct bytes *out, size_t *bad_at, const char **why);

#endif
