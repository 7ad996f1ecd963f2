# Test-only code, never linked into libshale: the fault-injecting file layer
# (failures by rule or hook, and simulated power loss). The tests, benchmarks
# that need it and the fuzzers link libshale_testing.la.
noinst_LTLIBRARIES += libshale_testing.la
libshale_testing_la_SOURCES = lib/testing/env_fault.c
noinst_HEADERS += lib/testing/env_fault.h
