"""Frames to TCP byte streams: link/IP/TCP decoding, reassembly, and the split of a scan."""
