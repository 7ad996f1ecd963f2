# compaction: sources and tests are added here as the module lands.
