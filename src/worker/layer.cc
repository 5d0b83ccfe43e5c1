// layer worker
