#!/bin/sh
# cap asks libpcap for 65535-byte snapshots whatever buffer it is given, so with a 64 MiB kernel buffer
# the ring holds only ~1000 packets and bursts drop. patches/ makes the snapshot the buffer's length;
# rebuild cap with it. cap is optional: without libpcap-dev, only live capture is missing.
set -e
[ -d node_modules/cap ] || exit 0
patch-package
if ! npm rebuild cap >/dev/null 2>&1; then
  echo "az-traffic-exporter: cap did not build; live capture needs libpcap: apt-get install libpcap-dev, then npm rebuild cap" >&2
fi
