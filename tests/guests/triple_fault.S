/* Loads an empty IDT and raises an exception: a triple fault. */
#include "guest.h"
	.text
	bzimage_header
entry64:
	lea idtr(%rip), %rax
	lidt (%rax)
	ud2
1:	jmp 1b
idtr:	.word 0
	.quad 0
