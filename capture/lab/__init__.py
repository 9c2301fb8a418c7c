"""The lab tools: the reflector (server side) and the probe (sent versus received)."""
