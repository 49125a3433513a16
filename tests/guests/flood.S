/* Writes 96 KiB of 'x' (plus a final newline) to the serial port faster
 * than a terminal takes it, then resets: all of it must arrive. */
#include "guest.h"
	.text
	bzimage_header
entry64:
	mov $(96 * 1024), %r8d
9:	mov $'x', %al
	putc_al
	dec %r8d
	jnz 9b
	mov $'\n', %al
	putc_al
	reset_i8042
