/* Prints a greeting, its command line (from the zero page in %rsi), the
 * e820 entry count and the boot protocol's magic, then resets. */
#include "guest.h"
	.text
	bzimage_header
entry64:
	mov %rsi, %r15			/* zero page */
	lea msg(%rip), %rsi
	call puts
	lea cmdl(%rip), %rsi
	call puts
	mov 0x228(%r15), %esi		/* cmd_line_ptr */
	call puts
	lea nl(%rip), %rsi
	call puts
	lea e820(%rip), %rsi
	call puts
	movzbq 0x1e8(%r15), %rax	/* e820_entries */
	call puthex
	lea nl(%rip), %rsi
	call puts
	lea bye(%rip), %rsi
	call puts
	reset_i8042

/* puts: NUL-terminated string at %rsi. */
puts:
	lodsb
	test %al, %al
	jz 2f
	putc_al
	jmp puts
2:	ret

/* puthex: %rax as 0x + 16 hex digits. */
puthex:
	mov %rax, %rbx
	mov $'0', %al
	putc_al
	mov $'x', %al
	putc_al
	mov $16, %ecx
3:	rol $4, %rbx
	mov %bl, %al
	and $0xf, %al
	add $'0', %al
	cmp $'9', %al
	jbe 4f
	add $7, %al
4:	putc_al
	dec %ecx
	jnz 3b
	ret

msg:	.asciz "hello from the figment test guest\r\n"
cmdl:	.asciz "cmdline: "
e820:	.asciz "e820 entries: "
nl:	.asciz "\r\n"
bye:	.asciz "resetting\r\n"
