/* (Labels from 10 up: putc_al uses 1.) Counts forever and prints each count ("count N"), with a busy delay in
 * between: the snapshot tests stop it mid-run, restore it, and check that
 * the count goes on from where it was. The count lives in memory, on a page
 * of its own, so a snapshot that loses a memory write goes back in time. */
#include "guest.h"
	.text
	bzimage_header
entry64:
	movq $0, count(%rip)
10:	mov count(%rip), %r12		/* the count lives in memory: a Diff */
	inc %r12			/* snapshot that missed its page would */
	mov %r12, count(%rip)		/* restore an older one */
	lea msg(%rip), %rbx
20:	mov (%rbx), %al
	test %al, %al
	jz 30f
	putc_al
	inc %rbx
	jmp 20b
30:	mov %r12, %rax
	call print_dec
	mov $'\r', %al
	putc_al
	mov $'\n', %al
	putc_al
	mov $0x40000, %rcx
40:	dec %rcx
	jnz 40b
	jmp 10b

/* Prints %rax in decimal. Clobbers rax, rcx, rdx, rsi, rdi. */
print_dec:
	mov %rsp, %rsi
	sub $32, %rsp
	mov %rsi, %rdi
	mov $10, %rcx
50:	xor %edx, %edx
	div %rcx
	add $'0', %dl
	dec %rdi
	mov %dl, (%rdi)
	test %rax, %rax
	jnz 50b
60:	mov (%rdi), %al
	putc_al
	inc %rdi
	cmp %rsi, %rdi
	jne 60b
	add $32, %rsp
	ret

msg:	.asciz "count "
	.balign 4096
count:	.quad 0
