"""What is written and read back: JSONL, table, HAR, pcapng sessions and exports."""
