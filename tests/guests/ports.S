/* Reads unclaimed ports (expects all-ones), writes port 0x80, prints the
 * result, then powers off through the ACPI sleep control register. */
#include "guest.h"
	.text
	bzimage_header
entry64:
	mov $0x80, %dx
	out %al, %dx
	mov $0x1234, %dx
	in %dx, %al
	cmp $0xff, %al
	jne bad
	mov $0x5550, %dx
	in %dx, %eax
	cmp $0xffffffff, %eax
	jne bad
	mov $0x0cf8, %dx		/* no PCI: unclaimed too */
	out %eax, %dx
	lea ok(%rip), %rsi
	jmp done
bad:	lea ko(%rip), %rsi
done:
5:	lodsb
	test %al, %al
	jz 6f
	putc_al
	jmp 5b
6:	mov $0x34, %al			/* SLP_TYP 5 << 2 | SLP_EN */
	mov $0x3c0, %dx
	out %al, %dx
7:	jmp 7b
ok:	.asciz "ports: unclaimed reads all-ones\r\n"
ko:	.asciz "ports: unexpected value\r\n"
