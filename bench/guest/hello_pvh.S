/* bench guest: a kernel-less PVH ELF that prints two lines on COM1 and ends.
 *
 * Why PVH and not tests/guests/hello.bin: QEMU's microvm firmware enters a
 * bzImage through its 16-bit setup code, which the tiny bzImage test guests
 * do not have (QEMU stops with an emulation failure). Both figment and QEMU
 * enter a PVH ELF the same way (32-bit protected mode, paging off), so one
 * binary serves both VMMs.
 *
 * It ends by asking an i8042 for a reset: figment has one; QEMU microvm needs
 * `-device i8042` (with -no-reboot the reset ends QEMU). The triple fault
 * after it is only a fallback: kvm_pvm fails to emulate the int3 instead. */
#define COM1		0x3f8
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.code32
	.text
	.globl pvh_start
pvh_start:
	mov $stack_top, %esp		/* PVH gives no stack */
	mov $greeting, %esi
	call puts
	mov $bye, %esi
	call puts
	mov $0xfe, %al			/* i8042: pulse the reset line */
	outb %al, $0x64
	lidt null_idt			/* still here: no i8042, triple-fault */
	int3
1:	jmp 1b

/* puts: NUL-terminated string at %esi, each byte once the UART can take it. */
puts:
	lodsb
	test %al, %al
	jz 3f
	mov %al, %ah
	mov $(COM1 + 5), %dx		/* line status register */
2:	inb %dx, %al
	test $0x20, %al			/* THR empty */
	jz 2b
	mov $COM1, %dx
	mov %ah, %al
	outb %al, %dx
	jmp puts
3:	ret

	.section .rodata
	.balign 8
null_idt:
	.word 0
	.long 0
greeting:
	.asciz "hello from the figment bench guest\r\n"
bye:
	.asciz "resetting\r\n"

	.bss
	.balign 16
	.skip 4096
stack_top:

	.section .note.pvh, "a"
	.balign 4
	.long 4				/* name size: "Xen\0" */
	.long 4				/* desc size */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_start
