/* Prints "ready", then writes "crash loaded" to the pvpanic port 100,000
 * times (each one a warning the host may log), prints "done" and resets.
 * With a command line that starts with 'f' it floods until it is stopped. */
#include "guest.h"
	.text
	bzimage_header
entry64:
	mov %rsi, %r12			/* the zero page */
	lea ready(%rip), %rsi
	call puts
1:	mov $100000, %ecx
	mov $0x505, %dx
	mov $2, %al			/* PVPANIC_CRASH_LOADED */
2:	out %al, %dx
	dec %ecx
	jnz 2b
	mov 0x228(%r12), %esi		/* cmd_line_ptr */
	cmpb $'f', (%rsi)
	je 1b
	lea done(%rip), %rsi
	call puts
	reset_i8042

puts:	lodsb
	test %al, %al
	jz 9f
	putc_al
	jmp puts
9:	ret

ready:	.asciz "ready\r\n"
done:	.asciz "done\r\n"
