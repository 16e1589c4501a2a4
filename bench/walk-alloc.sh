#!/bin/sh
# Bytes walk-steady.js's second pass allocates, per packet: young-generation collections in a
# run answering the packets once and in one answering them twice, with the young generation
# held at 16 MiB (each collection: about 16 MiB allocated), the difference over the packet count.
# Usage: walk-alloc.sh DIST PACKETS COUNT [batch flags...]
dist=$1; packets=$2; count=$3; shift 3
scavenges() {
  passes=$1; shift
  node --max-semi-space-size=16 --min-semi-space-size=16 --trace-gc "$dist/bench/walk-steady.js" "$packets" "$count" "$passes" "$@" 2>&1 | grep -c Scavenge
}
one=$(scavenges 1 "$@")
two=$(scavenges 2 "$@")
echo "$one $two $count" | awk '{ printf "allocated: %.1f KB/packet (%d collections)\n", ($2 - $1) * 16384 / $3, $2 - $1 }'
