/* Maps the boot-marker page (above the first GiB the boot tables cover),
 * writes the marker, then resets. */
#include "guest.h"
	.text
	bzimage_header
entry64:
	/* PD for 3..4 GiB at 2 MiB; PDPT at 0xa000 (layout.h) entry 3 */
	mov $0x200000, %rdi
	mov $0xd0000000 | 0x9b, %rax	/* present, rw, PCD, PWT, 2 MiB */
	mov %rax, 0x80*8(%rdi)
	mov $0x200003, %rax
	mov %rax, 0xa000 + 3*8
	mov %cr3, %rax
	mov %rax, %cr3
	mov $0xd0000000, %edi
	movb $123, (%rdi)
	mov $'M', %al
	putc_al
	mov $'\n', %al
	putc_al
	reset_i8042
