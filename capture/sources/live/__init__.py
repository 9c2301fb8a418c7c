"""Live capture on a network interface: the socket, link state, interfaces, privileges."""
