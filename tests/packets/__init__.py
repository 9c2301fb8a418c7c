"""Test-packet generators: crafted TCP conversations and classic pcap files (not shipped)."""
