// SPDX-License-Identifier: Apache-2.0
/*
 * ELF vmlinux loader for the PVH boot protocol (Xen's "direct boot" ABI,
 * also used by QEMU, Firecracker and cloud-hypervisor): PT_LOAD segments go
 * to their physical addresses, the entry is the 32-bit physical address in
 * the kernel's XEN_ELFNOTE_PHYS32_ENTRY note, and EBX points at an
 * hvm_start_info at LAYOUT_PVH_INFO followed by its module list (the initrd)
 * and the memory map.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot_priv.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "util/checked.h"

#define PVH_NOTE_PHYS32_ENTRY 18 /* XEN_ELFNOTE_PHYS32_ENTRY */
#define PVH_START_MAGIC 0x336ec578
#define PVH_START_VERSION 1 /* has memmap_paddr / memmap_entries */
/* Linux's vmlinux has a handful of program headers; anything near this
 * bound is not a kernel. */
#define PVH_MAX_PHDRS 256
/* A vmlinux's notes take a few hundred bytes. */
#define PVH_MAX_NOTES (64u << 10)

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40,
	       "hvm_start_info.memmap_paddr");

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24,
	       "hvm_memmap_table_entry");

/* The page at LAYOUT_PVH_INFO, as figment lays it out. */
struct pvh_info_page {
	struct hvm_start_info start;
	struct hvm_modlist_entry mod; /* the initrd */
	struct hvm_memmap_table_entry memmap[E820_MAP_MAX];
};
_Static_assert(sizeof(struct pvh_info_page) <= LAYOUT_PVH_INFO_SIZE,
	       "PVH start info page overflows LAYOUT_PVH_INFO_SIZE");
_Static_assert(LAYOUT_PVH_INFO + LAYOUT_PVH_INFO_SIZE <= LAYOUT_ZERO_PAGE,
	       "PVH start info page overlaps the zero page");

/* The headers, read once from the file; only this copy is checked and
 * used. */
struct elf_info {
	uint64_t entry;   /* PVH 32-bit physical entry */
	uint64_t end;     /* highest end of a PT_LOAD segment */
	Elf64_Ehdr ehdr;
	Elf64_Phdr phdrs[PVH_MAX_PHDRS];
};

bool boot_elf_detect(const uint8_t *head, uint64_t size)
{
	return size >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0;
}

static int elf_check_ehdr(const struct boot_image *k, Elf64_Ehdr *eh,
			  char *err, size_t errlen)
{
	uint64_t ph_bytes;

	memset(eh, 0, sizeof(*eh));
	if (boot_image_read(k, "kernel", 0, eh,
			    k->size < sizeof(*eh) ? k->size : sizeof(*eh), err,
			    errlen))
		return -EIO;
	if (k->size > EI_CLASS && eh->e_ident[EI_CLASS] != ELFCLASS64) {
		boot_err(err, errlen,
			 "ELF kernel is not 64-bit (class %u); need an x86-64 vmlinux",
			 eh->e_ident[EI_CLASS]);
		return -ENOEXEC;
	}
	if (k->size < sizeof(*eh)) {
		boot_err(err, errlen,
			 "ELF kernel is truncated: %llu bytes, less than its %zu-byte header",
			 (unsigned long long)k->size, sizeof(*eh));
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		boot_err(err, errlen, "ELF kernel is not little-endian");
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_VERSION] != EV_CURRENT ||
	    eh->e_version != EV_CURRENT) {
		boot_err(err, errlen, "ELF kernel has unknown ELF version %u",
			 eh->e_version);
		return -ENOEXEC;
	}
	if (eh->e_machine != EM_X86_64) {
		boot_err(err, errlen,
			 "ELF kernel is for machine %u, not x86-64 (%u)",
			 eh->e_machine, EM_X86_64);
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC) {
		boot_err(err, errlen,
			 "ELF kernel is of type %u, not an executable (ET_EXEC)",
			 eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		boot_err(err, errlen,
			 "ELF program header size is %u, expected %zu",
			 eh->e_phentsize, sizeof(Elf64_Phdr));
		return -ENOEXEC;
	}
	if (eh->e_phnum == 0 || eh->e_phnum > PVH_MAX_PHDRS) {
		boot_err(err, errlen,
			 "ELF kernel has %u program headers (need 1 to %u)",
			 eh->e_phnum, PVH_MAX_PHDRS);
		return -ENOEXEC;
	}
	if (checked_mul_u64(eh->e_phnum, eh->e_phentsize, &ph_bytes) ||
	    range_outside(eh->e_phoff, ph_bytes, k->size)) {
		boot_err(err, errlen,
			 "ELF program headers (offset 0x%llx, %u entries) are past the end of the %llu-byte file",
			 (unsigned long long)eh->e_phoff, eh->e_phnum,
			 (unsigned long long)k->size);
		return -ENOEXEC;
	}
	return 0;
}

/* The file bytes of program header @i lie inside the file; else says which
 * @kind of segment runs past it. */
static int elf_check_in_file(const struct boot_image *k, unsigned int i,
			     const Elf64_Phdr *ph, const char *kind, char *err,
			     size_t errlen)
{
	if (!range_outside(ph->p_offset, ph->p_filesz, k->size))
		return 0;
	boot_err(err, errlen,
		 "ELF %s %u (offset 0x%llx, 0x%llx bytes) is past the end of the %llu-byte file",
		 kind, i, (unsigned long long)ph->p_offset,
		 (unsigned long long)ph->p_filesz, (unsigned long long)k->size);
	return -ENOEXEC;
}

static int elf_check_load(const struct boot_image *k, unsigned int i,
			  const Elf64_Phdr *ph, uint64_t ram_end, char *err,
			  size_t errlen)
{
	if (ph->p_filesz > ph->p_memsz) {
		boot_err(err, errlen,
			 "ELF segment %u has more file bytes (0x%llx) than memory bytes (0x%llx)",
			 i, (unsigned long long)ph->p_filesz,
			 (unsigned long long)ph->p_memsz);
		return -ENOEXEC;
	}
	if (elf_check_in_file(k, i, ph, "segment", err, errlen))
		return -ENOEXEC;
	if (ph->p_paddr < LAYOUT_HIMEM_START) {
		boot_err(err, errlen,
			 "ELF segment %u at 0x%llx is below 1 MiB, where figment keeps its boot data",
			 i, (unsigned long long)ph->p_paddr);
		return -ENOEXEC;
	}
	if (range_outside(ph->p_paddr, ph->p_memsz, ram_end)) {
		boot_err(err, errlen,
			 "ELF segment %u (0x%llx, %s) is past the end of low guest RAM at 0x%llx",
			 i, (unsigned long long)ph->p_paddr,
			 boot_size(ph->p_memsz).s, (unsigned long long)ram_end);
		return -ENOMEM;
	}
	return 0;
}

/* Walks the notes in [data, data + len) looking for the PVH entry. Every step
 * is bounded by what is left of the segment; @align is the notes' padding. */
static int elf_scan_notes(const uint8_t *data, uint64_t len, uint64_t align,
			  unsigned int seg, uint64_t *entry, char *err,
			  size_t errlen)
{
	static const char xen[] = "Xen"; /* with its NUL, as namesz counts */
	uint64_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		uint64_t name_len, desc_len, left;
		Elf64_Nhdr nh;
		const uint8_t *name, *desc;

		memcpy(&nh, data + off, sizeof(nh));
		off += sizeof(nh);
		left = len - off;
		/* 32-bit sizes padded in 64 bits: no overflow. */
		name_len = align_up_u64(nh.n_namesz, align);
		desc_len = align_up_u64(nh.n_descsz, align);
		if (name_len > left || nh.n_descsz > left - name_len) {
			boot_err(err, errlen,
				 "ELF note in segment %u (namesz %u, descsz %u) runs past the segment's end",
				 seg, nh.n_namesz, nh.n_descsz);
			return -ENOEXEC;
		}
		name = data + off;
		desc = name + name_len;
		/* The last note's padding may be cut by the segment's end. */
		if (desc_len > left - name_len)
			desc_len = left - name_len;
		off += name_len + desc_len;

		if (nh.n_type != PVH_NOTE_PHYS32_ENTRY ||
		    nh.n_namesz != sizeof(xen) ||
		    memcmp(name, xen, sizeof(xen)))
			continue;
		if (nh.n_descsz == 4) {
			uint32_t e;

			memcpy(&e, desc, sizeof(e));
			*entry = e;
		} else if (nh.n_descsz == 8) {
			memcpy(entry, desc, sizeof(*entry));
		} else {
			boot_err(err, errlen,
				 "ELF PVH entry note has a %u-byte address (expected 4 or 8)",
				 nh.n_descsz);
			return -ENOEXEC;
		}
		return 1;
	}
	return 0;
}

/* Reads note segment @i (bounds checked here) and looks for the PVH entry
 * in it: 1 found, 0 not there, or a negative errno. */
static int elf_read_notes(const struct boot_image *k, unsigned int i,
			  const Elf64_Phdr *ph, uint64_t *entry, char *err,
			  size_t errlen)
{
	uint8_t *notes;
	int ret;

	if (elf_check_in_file(k, i, ph, "note segment", err, errlen))
		return -ENOEXEC;
	if (ph->p_filesz > PVH_MAX_NOTES) {
		boot_err(err, errlen,
			 "ELF note segment %u is %s; a kernel's notes take less than %s",
			 i, boot_size(ph->p_filesz).s,
			 boot_size(PVH_MAX_NOTES).s);
		return -ENOEXEC;
	}
	if (ph->p_filesz == 0)
		return 0;
	notes = malloc(ph->p_filesz);
	if (!notes) {
		boot_err(err, errlen, "out of memory reading ELF notes");
		return -ENOMEM;
	}
	ret = boot_image_read(k, "kernel", ph->p_offset, notes, ph->p_filesz,
			      err, errlen);
	if (!ret)
		ret = elf_scan_notes(notes, ph->p_filesz,
				     ph->p_align == 8 ? 8 : 4, i, entry, err,
				     errlen);
	free(notes);
	return ret;
}

static int elf_parse(const struct boot_image *k, uint64_t ram_end,
		     struct elf_info *ei, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = &ei->ehdr;
	unsigned int nr_load = 0;
	bool found = false;
	bool in_segment = false;
	int ret;

	memset(ei, 0, sizeof(*ei));
	ret = elf_check_ehdr(k, &ei->ehdr, err, errlen);
	if (ret)
		return ret;
	/* All program headers in one read (e_phoff need not be aligned);
	 * bounds checked by elf_check_ehdr(). */
	ret = boot_image_read(k, "kernel", eh->e_phoff, ei->phdrs,
			      (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), err,
			      errlen);
	if (ret)
		return ret;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &ei->phdrs[i];

		if (ph->p_type == PT_LOAD && ph->p_memsz) {
			ret = elf_check_load(k, i, ph, ram_end, err, errlen);
			if (ret)
				return ret;
			if (ph->p_paddr + ph->p_memsz > ei->end)
				ei->end = ph->p_paddr + ph->p_memsz;
			nr_load++;
		} else if (ph->p_type == PT_NOTE && !found) {
			ret = elf_read_notes(k, i, ph, &ei->entry, err, errlen);
			if (ret < 0)
				return ret;
			found = ret > 0;
		}
	}
	if (nr_load == 0) {
		boot_err(err, errlen, "ELF kernel has no loadable segments");
		return -ENOEXEC;
	}
	if (!found) {
		boot_err(err, errlen,
			 "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); build it with CONFIG_PVH=y");
		return -ENOEXEC;
	}
	/* The vCPU starts there in 32-bit mode without paging: the entry must
	 * be code we loaded. */
	for (unsigned int i = 0; i < eh->e_phnum && !in_segment; i++) {
		const Elf64_Phdr *ph = &ei->phdrs[i];

		in_segment = ph->p_type == PT_LOAD &&
			     ei->entry >= ph->p_paddr &&
			     ei->entry - ph->p_paddr < ph->p_memsz;
	}
	if (!in_segment) {
		boot_err(err, errlen,
			 "ELF PVH entry 0x%llx is outside the kernel's loaded segments",
			 (unsigned long long)ei->entry);
		return -ENOEXEC;
	}
	return 0;
}

/* Only the checked copy of the program headers is used here. */
static int elf_write_segments(const struct guest_memory *mem,
			      const struct boot_image *k,
			      const struct elf_info *ei, char *err,
			      size_t errlen)
{
	for (unsigned int i = 0; i < ei->ehdr.e_phnum; i++) {
		const Elf64_Phdr *ph = &ei->phdrs[i];
		uint8_t *dst;
		int ret;

		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		dst = guest_memory_ptr(mem, ph->p_paddr, ph->p_memsz);
		if (!dst) {
			boot_err(err, errlen,
				 "ELF segment %u (0x%llx, %s) is not in guest RAM",
				 i, (unsigned long long)ph->p_paddr,
				 boot_size(ph->p_memsz).s);
			return -EFAULT;
		}
		if (ph->p_filesz) {
			ret = boot_copy_image(mem, ph->p_paddr, k, "kernel",
					      ph->p_offset, ph->p_filesz, err,
					      errlen);
			if (ret)
				return ret;
		}
		/* bss: RAM may not be fresh (reboot), zero it explicitly. */
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	}
	return 0;
}

int boot_elf_load(const struct guest_memory *mem,
		  const struct boot_request *req, struct boot_plan *plan,
		  struct boot_entry *out, char *err, size_t errlen)
{
	struct pvh_info_page page;
	struct elf_info ei; /* 14 KiB of program headers */
	struct e820_map map;
	int ret;

	ret = elf_parse(&req->kernel, plan->ram_end, &ei, err, errlen);
	if (ret)
		return ret;
	/* PVH has no header field for the command line's limit: the area's
	 * size is. */
	ret = boot_plan_common(mem, req, LAYOUT_CMDLINE_MAX - 1, ei.end,
			       plan->ram_end, plan, &map, err, errlen);
	if (ret || req->check_only)
		return ret;

	memset(&page, 0, sizeof(page));
	page.start.magic = PVH_START_MAGIC;
	page.start.version = PVH_START_VERSION;
	page.start.cmdline_paddr = LAYOUT_CMDLINE;
	page.start.rsdp_paddr = req->rsdp_gpa;
	if (req->initrd.size) {
		page.start.nr_modules = 1;
		page.start.modlist_paddr =
			LAYOUT_PVH_INFO + offsetof(struct pvh_info_page, mod);
		page.mod.paddr = plan->initrd_gpa;
		page.mod.size = req->initrd.size;
	}
	page.start.memmap_paddr =
		LAYOUT_PVH_INFO + offsetof(struct pvh_info_page, memmap);
	page.start.memmap_entries = map.nr;
	for (unsigned int i = 0; i < map.nr; i++) {
		page.memmap[i].addr = map.ranges[i].addr;
		page.memmap[i].size = map.ranges[i].size;
		page.memmap[i].type = map.ranges[i].type;
	}

	ret = elf_write_segments(mem, &req->kernel, &ei, err, errlen);
	if (ret)
		return ret;
	if (guest_memory_write(mem, LAYOUT_PVH_INFO, &page, sizeof(page))) {
		boot_err(err, errlen,
			 "PVH start info at 0x%llx is not in guest RAM",
			 (unsigned long long)LAYOUT_PVH_INFO);
		return -EFAULT;
	}
	ret = boot_write_common(mem, req, plan, err, errlen);
	if (ret)
		return ret;

	out->protocol = BOOT_PVH;
	out->entry = ei.entry;
	out->boot_info = LAYOUT_PVH_INFO;
	return 0;
}
