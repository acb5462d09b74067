#!/usr/bin/env python3
"""Copy stdin to stdout, each line prefixed with the host wall-clock time
(CLOCK_REALTIME, seconds.microseconds) at which this process read it.

dpdk-testpmd and DPDK's log print no timestamps; traces/capture-guest.sh
runs testpmd line-buffered (stdbuf -oL -eL) into this script so that its
lines can be placed on the same clock as QEMU's `-msg timestamp=on` trace.
The time is when the line was read, not when DPDK produced it.
"""
import sys
import time


def main():
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        now = time.time()
        out.write(b"%.6f " % now + line)
        out.flush()


if __name__ == "__main__":
    main()
