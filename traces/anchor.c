/*
 * ringside-anchor: clock anchors between the capture guest's ftrace clock and
 * QEMU's trace log (built static by traces/capture-guest.sh into the initramfs).
 *
 *   ringside-anchor FIRST COUNT
 *
 * For each N in FIRST .. FIRST+COUNT-1 it writes, back to back from one
 * process (no fork or exec in between, so the gap is a few system calls):
 *
 *   trace_marker  "ringside-anchor N begin pci 0000:00:00.0 0x3c<-0xVV"
 *   PCI config    byte VV = N & 0xff at offset 0x3c (PCI_INTERRUPT_LINE)
 *                 of the host bridge, through sysfs
 *   trace_marker  "ringside-anchor N end"
 *
 * QEMU traces that config write as
 *   pci_cfg_write i440FX 00:0 @0x3c <- 0xVV
 * (trace event pci_cfg_write, "%s %02u:%u @0x%x <- 0x%x").  The write happens
 * between the two markers in guest time, so QEMU's timestamp of it minus the
 * guest's begin/end times bounds the clock offset.  PCI_INTERRUPT_LINE is a
 * scratch register for the OS (QEMU only stores it; Linux keeps the IRQ
 * number in struct pci_dev), so changing it changes nothing.  Anchors are
 * 20 ms apart.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MARKER "/sys/kernel/tracing/trace_marker"
#define CONFIG "/sys/bus/pci/devices/0000:00:00.0/config"
#define OFFSET 0x3c

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: ringside-anchor FIRST COUNT\n");
		return 2;
	}
	long first = strtol(argv[1], NULL, 10), count = strtol(argv[2], NULL, 10);
	int m = open(MARKER, O_WRONLY);
	int c = open(CONFIG, O_WRONLY);
	if (m < 0 || c < 0) {
		perror(m < 0 ? MARKER : CONFIG);
		return 1;
	}
	for (long n = first; n < first + count; n++) {
		unsigned char v = (unsigned char)(n & 0xff);
		char begin[96], end[64];
		int lb = snprintf(begin, sizeof begin,
				  "ringside-anchor %ld begin pci 0000:00:00.0 0x%x<-0x%x", n, OFFSET, v);
		int le = snprintf(end, sizeof end, "ringside-anchor %ld end", n);
		if (write(m, begin, lb) != lb || pwrite(c, &v, 1, OFFSET) != 1 ||
		    write(m, end, le) != le) {
			perror("ringside-anchor");
			return 1;
		}
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}
