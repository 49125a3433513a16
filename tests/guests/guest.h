/* Helpers for the tiny test guests: a bzImage header whose 64-bit entry is
 * `entry64`, and serial / port / reset macros. Used from .S files. */
#define COM1 0x3f8

/* Setup area: one sector of setup after the boot sector; the protected-mode
 * part (loaded at 1 MiB) starts at file offset 0x400, its 64-bit entry at
 * +0x200. */
.macro bzimage_header
	.code16
	.org 0x1f1
	.byte 1			/* setup_sects */
	.word 0			/* root_flags */
	.long 0			/* syssize */
	.word 0			/* ram_size */
	.word 0			/* vid_mode */
	.word 0			/* root_dev */
	.word 0xaa55		/* boot_flag */
	.byte 0xeb, 0x66	/* jump over the header */
	.ascii "HdrS"
	.word 0x020f		/* boot protocol 2.15 */
	.long 0			/* realmode_swtch */
	.word 0			/* start_sys_seg */
	.word 0			/* kernel_version */
	.byte 0			/* type_of_loader */
	.byte 1			/* loadflags: LOADED_HIGH */
	.word 0			/* setup_move_size */
	.long 0x100000		/* code32_start */
	.long 0			/* ramdisk_image */
	.long 0			/* ramdisk_size */
	.long 0			/* bootsect_kludge */
	.word 0			/* heap_end_ptr */
	.byte 0			/* ext_loader_ver */
	.byte 0			/* ext_loader_type */
	.long 0			/* cmd_line_ptr */
	.long 0x7fffffff	/* initrd_addr_max */
	.long 0x200000		/* kernel_alignment */
	.byte 0			/* relocatable_kernel */
	.byte 21		/* min_alignment */
	.word 1			/* xloadflags: XLF_KERNEL_64 */
	.long 2047		/* cmdline_size */
	.long 0			/* hardware_subarch */
	.quad 0			/* hardware_subarch_data */
	.long 0			/* payload_offset */
	.long 0			/* payload_length */
	.quad 0			/* setup_data */
	.quad 0x100000		/* pref_address */
	.long 0x100000		/* init_size */
	.long 0			/* handover_offset */
	.long 0			/* kernel_info_offset */
	.org 0x400
	/* protected-mode part, at 1 MiB; 64-bit entry at +0x200 */
	.org 0x600
	.code64
.endm

/* Writes %al to COM1 once the transmitter is free. Clobbers %dx. */
.macro putc_al
	mov %al, %ah
	mov $(COM1 + 5), %dx
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	mov $COM1, %dx
	mov %ah, %al
	out %al, %dx
.endm

/* Asks the i8042 to pulse the reset line: figment ends with status 0. */
.macro reset_i8042
	mov $0xfe, %al
	out %al, $0x64
1:	jmp 1b
.endm
