/*
 * shale(1): the command-line tool. main, the command table and each
 * command's --help text, option parsing, and the messages every command
 * shares. The commands live in cmd_data.c (get, put, delete, scan, load,
 * dump), cmd_admin.c (stats, compact, checkpoint, destroy, repair),
 * cmd_verify.c and cmd_inspect.c (dump-wal, dump-sst, dump-manifest).
 *
 * This file and cmd_data.c and cmd_admin.c use only the public header;
 * verify and the inspectors read the files themselves through the library's
 * internal readers (see the top of tools/readers.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/progress.h"

#define ESCAPING_HELP \
	"Keys and values are printed escaped: a printable ASCII byte other than the\n" \
	"backslash stands for itself; a backslash is written \\\\, a tab \\t, a newline\n" \
	"\\n, a carriage return \\r, and every other byte \\xHH (lowercase hex). Key\n" \
	"arguments are read the same way (\\ starts an escape; any other byte stands\n" \
	"for itself). With --hex, keys and values, printed and given, are lowercase\n" \
	"hex instead.\n"

static const struct command commands[] = {
	{ "get", cmd_get, "get DB KEY [--hex]", "print the value of KEY",
	  "Prints the value of KEY, escaped, followed by a newline. When KEY is\n"
	  "absent, prints nothing on standard output, says so on standard error\n"
	  "and exits 1. Opens the database read-only.\n",
	  "",
	  OPT_HEX, 2, 2 },
	{ "put", cmd_put, "put DB KEY VALUE [--hex] [--create] [--sync]", "set KEY to VALUE",
	  "Sets KEY to VALUE (both read with the escape rule, or as hex).\n",
	  "  --create     create the database if it does not exist\n"
	  "  --sync       sync the write to disk before returning\n",
	  OPT_HEX | OPT_CREATE | OPT_SYNC, 3, 3 },
	{ "delete", cmd_delete, "delete DB KEY [--hex] [--sync]", "delete KEY",
	  "Deletes KEY. Deleting an absent key is not an error.\n",
	  "  --sync       sync the write to disk before returning\n",
	  OPT_HEX | OPT_SYNC, 2, 2 },
	{ "scan", cmd_scan,
	  "scan DB [--from K] [--to K] [--prefix P] [--limit N] [--reverse] [--keys-only] [--hex]",
	  "print the entries of a key range",
	  "Prints the entries in key order, one a line: KEY, a tab, VALUE (escaped).\n"
	  "Opens the database read-only.\n",
	  "  --from K     start at K (inclusive)\n"
	  "  --to K       stop before K (exclusive)\n"
	  "  --prefix P   only keys that start with P; with --from or --to, the keys\n"
	  "               that satisfy all of them\n"
	  "  --limit N    print at most N entries\n"
	  "  --reverse    from the last key to the first\n"
	  "  --keys-only  print only the keys\n",
	  OPT_HEX | OPT_FROM | OPT_TO | OPT_PREFIX | OPT_LIMIT | OPT_REVERSE | OPT_KEYS_ONLY, 1, 1 },
	{ "load", cmd_load, "load DB FILE|- [--hex] [--create] [--sync]", "write the records of a dump",
	  "Reads records from FILE (- for standard input) and writes them in\n"
	  "batches. The format is dump's: one record a line, KEY, a tab, VALUE, a\n"
	  "newline, both escaped (or hex with --hex). Nothing else is accepted: a\n"
	  "line without a tab, a second tab, a byte that must be escaped, an unknown\n"
	  "escape, or a last line without its newline stops the load with the line\n"
	  "number (exit 2) after every record before that line was written.\n",
	  "  --create     create the database if it does not exist\n"
	  "  --sync       sync each batch to disk\n",
	  OPT_HEX | OPT_CREATE | OPT_SYNC, 2, 2 },
	{ "dump", cmd_dump, "dump DB FILE|- [--hex]", "write every record, as load reads them",
	  "Writes every record to FILE (- for standard output) in key order, one a\n"
	  "line: KEY, a tab, VALUE, a newline, both escaped (or hex with --hex).\n"
	  "load reads it back: dump, load into an empty database and dump again\n"
	  "gives the same bytes. Opens the database read-only.\n",
	  "",
	  OPT_HEX, 2, 2 },
	{ "stats", cmd_stats, "stats DB [--files]", "print the database's statistics",
	  "Prints the shale.stats property (per level: files, size, compaction\n"
	  "work; write amplification and stalls), the number of files at each level\n"
	  "and the approximate memory in use. Opens the database read-only.\n",
	  "  --files      also list every table with its key range (shale.sstables)\n",
	  OPT_FILES, 1, 1 },
	{ "compact", cmd_compact, "compact DB [--from K] [--to K] [--hex]", "compact a key range",
	  "Compacts the tables that overlap the range down to the bottom level\n"
	  "(shale_compact_range) and waits until done; without --from or --to that\n"
	  "end of the range is open.\n",
	  "  --from K     first key of the range (inclusive)\n"
	  "  --to K       last key of the range (inclusive)\n",
	  OPT_HEX | OPT_FROM | OPT_TO, 1, 1 },
	{ "checkpoint", cmd_checkpoint, "checkpoint DB DIR", "make an openable copy of the database",
	  "Creates DIR (which must not exist) holding a consistent, openable copy of\n"
	  "the database, tables hard-linked where possible. Needs the database's\n"
	  "lock: it fails while another process has the database open.\n",
	  "",
	  0, 2, 2 },
	{ "destroy", cmd_destroy, "destroy DB [--yes]", "delete the database",
	  "Deletes the database's files, and the directory if then empty. Asks for\n"
	  "confirmation when standard input is a terminal, and refuses otherwise\n"
	  "unless --yes is given. A directory without CURRENT, LOCK or MANIFEST is\n"
	  "not taken for a database.\n",
	  "  --yes        do not ask\n",
	  OPT_YES, 1, 1 },
	{ "repair", cmd_repair, "repair DB", "rebuild a damaged database",
	  "Rebuilds a damaged or half-lost database (no CURRENT, a damaged or\n"
	  "missing MANIFEST, damaged tables or WALs) from every record it can read\n"
	  "(shale_repair_db), printing its report as it goes: what was kept from\n"
	  "each file, what was dropped, what was set aside in DB/lost/. Then lists\n"
	  "the files set aside.\n",
	  "",
	  0, 1, 1 },
	{ "verify", cmd_verify, "verify DB", "check every checksum and the key order",
	  "Reads every block of every table, every WAL record and every MANIFEST\n"
	  "record; checks every checksum, that keys increase through each table and\n"
	  "are found by its filter, that every WAL record and MANIFEST edit decodes,\n"
	  "and that every table the MANIFEST names exists with its recorded size and\n"
	  "key range. Prints one line per problem, \"FILE: offset N: what\" (notes,\n"
	  "which are not problems, say \"note:\"), then a summary. Reads the files\n"
	  "without locking, so it works on a live database.\n",
	  "",
	  0, 1, 1 },
	{ "dump-wal", cmd_dump_wal, "dump-wal FILE [--hex]", "print every record of a WAL",
	  "Prints every record of a write-ahead log file: its offset, first\n"
	  "sequence and operations (put 'KEY' => 'VALUE', del 'KEY'). Each problem\n"
	  "goes to standard error with its offset, and reading goes on.\n",
	  "",
	  OPT_HEX, 1, 1 },
	{ "dump-sst", cmd_dump_sst, "dump-sst FILE [--stats] [--hex]", "print every entry of a table",
	  "Prints every entry of a table file, one a line: 'KEY' @ SEQUENCE : put =>\n"
	  "'VALUE', or 'KEY' @ SEQUENCE : del. Each problem goes to standard error\n"
	  "with its offset, and reading goes on with the next block.\n",
	  "  --stats      print the table's figures instead of its entries: entries,\n"
	  "               key and value bytes, data blocks, sizes, compression ratio,\n"
	  "               filter\n",
	  OPT_HEX | OPT_STATS, 1, 1 },
	{ "dump-manifest", cmd_dump_manifest, "dump-manifest FILE [--hex]", "print every edit of a MANIFEST",
	  "Prints every version edit of a MANIFEST with its offset (comparator, log\n"
	  "and file numbers, last sequence, tables added and deleted with their key\n"
	  "ranges, compaction pointers), then the version they add up to. Each\n"
	  "problem goes to standard error with its offset.\n",
	  "",
	  OPT_HEX, 1, 1 },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *cmd_name(const struct cli *c)
{
	return c && c->cmd ? c->cmd->name : NULL;
}

static void vmsg(const struct cli *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void vmsg(const struct cli *c, const char *fmt, va_list ap)
{
	progress_done();
	fflush(stdout);
	const char *name = cmd_name(c);
	if (name)
		fprintf(stderr, "shale %s: ", name);
	else
		fputs("shale: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_msg(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(c, fmt, ap);
	va_end(ap);
}

int cli_lib_error(const struct cli *c, const char *path, int rc)
{
	const char *m = shale_errmsg();
	cli_msg(c, "%s: %s", path, m && *m ? m : shale_strerror(rc));
	return CLI_ERROR;
}

int cli_usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(c, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'shale %s --help'.\n", cmd_name(c) ? cmd_name(c) : "");
	return CLI_ERROR;
}

int cli_parse_key(const struct cli *c, const char *arg, const char *what, struct bytes *out)
{
	size_t at;
	const char *why;
	int rc = escape_parse_arg(arg, cli_has(c, OPT_HEX), out, &at, &why);
	if (rc == -2) {
		cli_msg(c, "out of memory");
		return CLI_ERROR;
	}
	if (rc)
		return cli_usage_error(c, "%s \"%s\": byte %zu: %s", what, arg, at + 1, why);
	return CLI_OK;
}

int cli_open(const struct cli *c, const char *path, int readonly, shale_db **db)
{
	shale_options *o = shale_options_create();
	*db = NULL;
	if (o == NULL) {
		cli_msg(c, "out of memory");
		return CLI_ERROR;
	}
	if (readonly)
		shale_options_set_read_only(o, 1);
	else if (cli_has(c, OPT_CREATE))
		shale_options_set_create_if_missing(o, 1);
	int rc = shale_open(path, o, db);
	shale_options_destroy(o);
	if (rc) {
		cli_lib_error(c, path, rc);
		if (!readonly && (c->cmd->opts & OPT_CREATE) && !cli_has(c, OPT_CREATE) && rc == SHALE_EINVAL &&
		    access(path, F_OK) != 0)
			fprintf(stderr, "(--create creates it)\n");
		return CLI_ERROR;
	}
	return CLI_OK;
}

int cli_close(const struct cli *c, const char *path, shale_db *db)
{
	int rc = shale_close(db);
	if (rc)
		return cli_lib_error(c, path, rc);
	return CLI_OK;
}

int cli_flush_stdout(const struct cli *c)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_msg(c, "standard output: %s", strerror(errno));
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* ---- help ---- */

static void print_usage(FILE *f)
{
	fprintf(f, "usage: shale COMMAND DB [ARGS] [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'shale COMMAND --help' describes a command; 'shale --version' prints the\n"
	           "version. Options may come anywhere after the command; '--' ends them (for\n"
	           "a key that starts with '-'). Exit status: 0 success, 1 not found or a\n"
	           "check failed, 2 bad usage or an error.\n\n" ESCAPING_HELP);
}

static void print_command_help(const struct command *cmd)
{
	printf("usage: shale %s\n\n%s\nOptions:\n%s", cmd->synopsis, cmd->description, cmd->options);
	if (cmd->opts & OPT_HEX)
		printf("  --hex        keys and values in lowercase hex\n");
	printf("  --help       print this help and exit\n");
	if (cmd->opts & OPT_HEX)
		printf("\n" ESCAPING_HELP);
	const char *one = cmd->run == cmd_get ? "the key is absent"
	                  : cmd->run == cmd_verify ? "a problem was found"
	                  : (cmd->run == cmd_dump_wal || cmd->run == cmd_dump_sst ||
	                     cmd->run == cmd_dump_manifest) ? "the file has a problem"
	                  : NULL;
	printf("\nExit status: 0 success, %s%s%s2 bad usage or an error.\n", one ? "1 " : "", one ? one : "",
	       one ? ", " : "");
}

/* ---- options ---- */

enum { LO_HEX = 256, LO_CREATE, LO_SYNC, LO_FROM, LO_TO, LO_PREFIX, LO_LIMIT, LO_REVERSE,
       LO_KEYS_ONLY, LO_YES, LO_STATS, LO_FILES };

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "hex", no_argument, NULL, LO_HEX },
	{ "create", no_argument, NULL, LO_CREATE },
	{ "sync", no_argument, NULL, LO_SYNC },
	{ "from", required_argument, NULL, LO_FROM },
	{ "to", required_argument, NULL, LO_TO },
	{ "prefix", required_argument, NULL, LO_PREFIX },
	{ "limit", required_argument, NULL, LO_LIMIT },
	{ "reverse", no_argument, NULL, LO_REVERSE },
	{ "keys-only", no_argument, NULL, LO_KEYS_ONLY },
	{ "yes", no_argument, NULL, LO_YES },
	{ "stats", no_argument, NULL, LO_STATS },
	{ "files", no_argument, NULL, LO_FILES },
	{ NULL, 0, NULL, 0 },
};

static unsigned opt_bit(int code)
{
	switch (code) {
	case LO_HEX: return OPT_HEX;
	case LO_CREATE: return OPT_CREATE;
	case LO_SYNC: return OPT_SYNC;
	case LO_FROM: return OPT_FROM;
	case LO_TO: return OPT_TO;
	case LO_PREFIX: return OPT_PREFIX;
	case LO_LIMIT: return OPT_LIMIT;
	case LO_REVERSE: return OPT_REVERSE;
	case LO_KEYS_ONLY: return OPT_KEYS_ONLY;
	case LO_YES: return OPT_YES;
	case LO_STATS: return OPT_STATS;
	case LO_FILES: return OPT_FILES;
	default: return 0;
	}
}

/* Parses argv (argv[0] is the command) into c. Returns -1 to go on, or an
 * exit status (after --help, or bad usage). */
static int parse_options(struct cli *c, int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *prefix = NULL;
	int help = 0;
	opterr = 0;
	optind = 1;
	for (;;) {
		int code = getopt_long(argc, argv, ":h", long_options, NULL);
		if (code == -1)
			break;
		if (code == 'h') {
			help = 1;
			continue;
		}
		if (code == '?' || code == ':')
			return cli_usage_error(c, "%s: %s", argv[optind - 1],
			                       code == ':' ? "needs an argument" : "unknown option");
		unsigned bit = opt_bit(code);
		if (!(c->cmd->opts & bit)) {
			const char *oname = "?";
			for (const struct option *o = long_options; o->name; o++)
				if (o->val == code)
					oname = o->name;
			return cli_usage_error(c, "--%s: not an option of %s", oname, c->cmd->name);
		}
		c->given |= bit;
		if (code == LO_FROM)
			from = optarg;
		else if (code == LO_TO)
			to = optarg;
		else if (code == LO_PREFIX)
			prefix = optarg;
		else if (code == LO_LIMIT) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' || errno)
				return cli_usage_error(c, "--limit %s: not a count", optarg);
			c->limit = v;
		}
	}
	if (help) {
		print_command_help(c->cmd);
		return CLI_OK;
	}
	c->args = argv + optind;
	c->nargs = argc - optind;
	if (c->nargs < c->cmd->min_args || c->nargs > c->cmd->max_args)
		return cli_usage_error(c, c->nargs < c->cmd->min_args ? "missing arguments: usage: shale %s"
		                                                      : "too many arguments: usage: shale %s",
		                       c->cmd->synopsis);
	if ((from && cli_parse_key(c, from, "--from", &c->from)) ||
	    (to && cli_parse_key(c, to, "--to", &c->to)) ||
	    (prefix && cli_parse_key(c, prefix, "--prefix", &c->prefix)))
		return CLI_ERROR;
	return -1;
}

int main(int argc, char **argv)
{
	progress_init();
	if (argc < 2) {
		print_usage(stderr);
		return CLI_ERROR;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		if (strcmp(name, "help") == 0 && argc > 2) {
			for (size_t i = 0; i < NCOMMANDS; i++)
				if (strcmp(argv[2], commands[i].name) == 0) {
					print_command_help(&commands[i]);
					return CLI_OK;
				}
			fprintf(stderr, "shale: %s: unknown command\n", argv[2]);
			return CLI_ERROR;
		}
		print_usage(stdout);
		return CLI_OK;
	}
	if (strcmp(name, "--version") == 0) {
		printf("shale %s\n", shale_version());
		return CLI_OK;
	}
	const struct command *cmd = NULL;
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "shale: %s: unknown command\nTry 'shale --help'.\n", name);
		return CLI_ERROR;
	}
	struct cli c;
	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	int rc = parse_options(&c, argc - 1, argv + 1);
	if (rc < 0)
		rc = cmd->run(&c);
	progress_done();
	if (rc == CLI_OK && cli_flush_stdout(&c) != CLI_OK)
		rc = CLI_ERROR;
	bytes_free(&c.from);
	bytes_free(&c.to);
	bytes_free(&c.prefix);
	return rc;
}
