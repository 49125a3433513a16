/* A PVH guest (32-bit protected mode, %ebx = hvm_start_info): checks the
 * start info magic, prints its command line and what CPUID says about the
 * hypervisor (leaf 1 ECX bit 31, leaf 0x40000000 vendor), then resets. */
#define COM1 0x3f8
	.text
	.code32
	.globl pvh_start
pvh_start:
	mov $0x8ff0, %esp		/* PVH gives no stack */
	mov %ebx, %ebp
	cmpl $0x336ec578, (%ebp)
	jne bad
	mov $msg, %esi
	call puts
	mov 24(%ebp), %esi		/* cmdline_paddr */
	call puts
	mov $nl, %esi
	call puts
	mov $1, %eax
	cpuid
	mov $hvno, %esi
	test $0x80000000, %ecx
	jz 1f
	mov $hvyes, %esi
1:	call puts
	mov $0x40000000, %eax
	cpuid
	mov %ebx, vendor
	mov %ecx, vendor + 4
	mov %edx, vendor + 8
	mov $vend, %esi
	call puts
	mov $vendor, %esi
	call puts
	mov $nl, %esi
	call puts
	jmp reset
bad:	mov $badmsg, %esi
	call puts
reset:	mov $0xfe, %al
	out %al, $0x64
2:	jmp 2b

puts:	lodsb
	test %al, %al
	jz 4f
	mov %al, %ah
	mov $(COM1 + 5), %dx
3:	in %dx, %al
	test $0x20, %al
	jz 3b
	mov $COM1, %dx
	mov %ah, %al
	out %al, %dx
	jmp puts
4:	ret

	.data
msg:	.asciz "pvh: start info ok, cmdline: "
badmsg:	.asciz "pvh: bad start info magic\r\n"
hvyes:	.asciz "cpuid: hypervisor bit set\r\n"
hvno:	.asciz "cpuid: hypervisor bit clear\r\n"
vend:	.asciz "cpuid: vendor "
nl:	.asciz "\r\n"
vendor:	.fill 13, 1, 0

	.section .note.pvh, "a"
	.align 4
	.long 4				/* namesz */
	.long 4				/* descsz */
	.long 18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start
