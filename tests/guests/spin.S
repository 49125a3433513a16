/* Prints "ready" and spins forever: for tests that stop the VM from
 * outside (console escape, signals, the API). */
#include "guest.h"
	.text
	bzimage_header
entry64:
	lea msg(%rip), %rsi
8:	lodsb
	test %al, %al
	jz 9f
	putc_al
	jmp 8b
9:	pause
	jmp 9b
msg:	.asciz "ready\r\n"
