#!/bin/sh
# Two optional native parts, each built here and each only a warning when it cannot be:
# - cap asks libpcap for 65535-byte snapshots whatever buffer it is given, so with a 64 MiB kernel
#   buffer the ring holds only ~1000 packets and bursts drop. patches/ makes the snapshot the buffer's
#   length; rebuild cap with it. Without libpcap-dev, only live capture is missing.
# - native/ asks the kernel for a flow's socket at its first packet and for a pod's address behind NAT
#   (netlink). Without it, sockets are found by scanning /proc/net, too late for short connections.
set -e
if [ -d node_modules/cap ]; then
  patch-package
  if ! npm rebuild cap >/dev/null 2>&1; then
    echo "az-traffic-exporter: cap did not build; live capture needs libpcap: apt-get install libpcap-dev, then npm rebuild cap" >&2
  fi
fi
if [ -f native/binding.gyp ]; then
  # npm puts its node-gyp on PATH for install scripts
  if ! (cd native && node-gyp rebuild >/dev/null 2>&1); then
    echo "az-traffic-exporter: the netlink addon did not build (it needs python3, make and g++); sockets will be found by scanning /proc/net" >&2
  fi
fi
