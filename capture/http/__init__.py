"""Byte streams to HTTP/1.x requests and responses, and the reflector's echo of them."""
