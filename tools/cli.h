/*
 * The shale command-line tool: what the command files share (shale.c holds
 * main, the command table, option parsing and messages).
 *
 * Every command is a function taking the parsed command line and returning
 * the exit status: CLI_OK (0), CLI_FAIL (1: not found, or a check found a
 * problem), CLI_ERROR (2: bad usage or an error). Messages go to stderr,
 * prefixed "shale COMMAND: " and naming the file they are about.
 */
#ifndef SHALE_TOOLS_CLI_H
#define SHALE_TOOLS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <shale.h>

#include "tools/escape.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_ERROR = 2 };

/* Options; each command accepts a subset (struct command's opts mask). */
enum {
	OPT_HEX = 1 << 0,       /* keys and values in hex */
	OPT_CREATE = 1 << 1,    /* create the database if missing */
	OPT_SYNC = 1 << 2,      /* synced writes */
	OPT_FROM = 1 << 3,      /* --from K */
	OPT_TO = 1 << 4,        /* --to K */
	OPT_PREFIX = 1 << 5,    /* --prefix P */
	OPT_LIMIT = 1 << 6,     /* --limit N */
	OPT_REVERSE = 1 << 7,
	OPT_KEYS_ONLY = 1 << 8,
	OPT_YES = 1 << 9,
	OPT_STATS = 1 << 10,    /* dump-sst --stats */
	OPT_FILES = 1 << 11,    /* stats --files */
};

struct cli {
	const struct command *cmd;
	char **args; /* positional arguments after the command */
	int nargs;
	unsigned given; /* OPT_* bits given on the command line */
	struct bytes from, to, prefix; /* parsed with the escape rule (or hex) */
	uint64_t limit;
};

struct command {
	const char *name;
	int (*run)(struct cli *c);
	const char *synopsis;    /* after "shale " */
	const char *summary;     /* one line */
	const char *description; /* the --help text's body */
	const char *options;     /* its option lines (--hex and --help are added) */
	unsigned opts;
	int min_args, max_args;
};

static inline int cli_has(const struct cli *c, unsigned opt)
{
	return (c->given & opt) != 0;
}

/* "shale CMD: " + formatted message + newline, on stderr. */
void cli_msg(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A library failure about path: "shale CMD: PATH: <shale_errmsg or the
 * code's description>". Returns CLI_ERROR. */
int cli_lib_error(const struct cli *c, const char *path, int rc);
/* Bad usage: the message, then "try 'shale CMD --help'". Returns CLI_ERROR. */
int cli_usage_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a key argument (escaped form, lenient; or hex with --hex) into out;
 * what names it in messages. CLI_OK or CLI_ERROR (message printed). */
int cli_parse_key(const struct cli *c, const char *arg, const char *what, struct bytes *out);

/* Opens the database at path: read-only when readonly (no LOCK, works beside
 * a live writer), else for writing (creating it with --create). CLI_OK, or
 * CLI_ERROR with the message printed. */
int cli_open(const struct cli *c, const char *path, int readonly, shale_db **db);
/* Closes db; CLI_OK, or CLI_ERROR with the message printed. */
int cli_close(const struct cli *c, const char *path, shale_db *db);

/* Checks that stdout took everything (fflush, ferror): CLI_OK or CLI_ERROR. */
int cli_flush_stdout(const struct cli *c);

/* The commands. */
int cmd_get(struct cli *c);
int cmd_put(struct cli *c);
int cmd_delete(struct cli *c);
int cmd_scan(struct cli *c);
int cmd_load(struct cli *c);
int cmd_dump(struct cli *c);
int cmd_stats(struct cli *c);
int cmd_compact(struct cli *c);
int cmd_checkpoint(struct cli *c);
int cmd_destroy(struct cli *c);
int cmd_repair(struct cli *c);
int cmd_verify(struct cli *c);
int cmd_dump_wal(struct cli *c);
int cmd_dump_sst(struct cli *c);
int cmd_dump_manifest(struct cli *c);

#endif
