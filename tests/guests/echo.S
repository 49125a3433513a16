/* Echoes serial input back, bracketed, until it reads 'q'; then resets. */
#include "guest.h"
	.text
	bzimage_header
entry64:
	mov $'<', %al
	putc_al
8:	mov $(COM1 + 5), %dx
	in %dx, %al
	test $0x01, %al			/* data ready */
	jz 8b
	mov $COM1, %dx
	in %dx, %al
	cmp $'q', %al
	je 9f
	putc_al
	jmp 8b
9:	mov $'>', %al
	putc_al
	reset_i8042
