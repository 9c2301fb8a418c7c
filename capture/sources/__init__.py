"""Where frames come from: capture files and streams, live interfaces, recordings."""
