/*
 * Accelerator choice: KVM only when it can really run a guest.  The mere
 * existence of /dev/kvm proves nothing (some hosts expose a KVM device
 * that cannot run an ordinary kernel), so the probe runs a few
 * instructions in a throwaway VM, in a child process bounded by a
 * deadline, and checks that the expected port write and halt come back.
 *
 * Must not know about QEMU arguments or kernels.
 */
#include "vm/vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

/*
 * 64-bit code, run with paging on at CPL 0, doing what any kernel does
 * early: reload CR3, read and write a syscall MSR, then report through a
 * port write and halt.
 */
static const unsigned char probe_code[] = {
	0x0f, 0x20, 0xd8,		/* mov %cr3,%rax */
	0x0f, 0x22, 0xd8,		/* mov %rax,%cr3 */
	0xb9, 0x82, 0x00, 0x00, 0xc0,	/* mov $0xc0000082,%ecx (LSTAR) */
	0x0f, 0x32,			/* rdmsr */
	0x0f, 0x30,			/* wrmsr */
	0x66, 0xba, 0xf8, 0x03,		/* mov $0x3f8,%dx */
	0xb0, 0x4b,			/* mov $0x4b,%al */
	0xee,				/* out %al,(%dx) */
	0xf4,				/* hlt */
};

/* Identity-map the first 2 MiB with one large page and enter long mode. */
static void probe_long_mode(char *mem, struct kvm_sregs *s)
{
	uint64_t *pml4 = (uint64_t *)(mem + 0x2000);
	uint64_t *pdpt = (uint64_t *)(mem + 0x3000);
	uint64_t *pd = (uint64_t *)(mem + 0x4000);
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1,
		.s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = code;

	pml4[0] = 0x3000 | 3;
	pdpt[0] = 0x4000 | 3;
	pd[0] = 0x0 | 0x83;
	data.selector = 16;
	data.type = 3;
	data.l = 0;
	data.db = 1;
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->cr3 = 0x2000;
	s->cr4 = 1u << 5;			/* PAE */
	s->cr0 = 0x80000033;			/* PG | NE | ET | MP | PE */
	s->efer = 0x500;			/* LME | LMA */
}

/*
 * Give the vCPU the CPUID KVM supports, as every VMM does before setting
 * registers: Linux 7.2's KVM refuses the long-mode registers below
 * (KVM_SET_SREGS fails) for a vCPU that has no CPUID yet, while 6.x took
 * them; the guest-visible checks of control registers follow the guest's
 * CPUID.
 */
static int probe_set_cpuid(int kvm, int vcpu)
{
	enum { MAX_ENTRIES = 256 };
	struct kvm_cpuid2 *cpuid;
	int r = -1;

	cpuid = calloc(1, sizeof(*cpuid) + MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -1;
	cpuid->nent = MAX_ENTRIES;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
		r = ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return r;
}

static int probe_in_child(void)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	struct kvm_run *run;
	int kvm, vm, vcpu, mmap_size, saw_io = 0;
	void *mem;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0 || ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return 10;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return 11;
	mem = mmap(NULL, 0x200000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 12;
	memcpy((char *)mem + 0x1000, probe_code, sizeof(probe_code));
	region.memory_size = 0x200000;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return 13;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return 14;
	if (probe_set_cpuid(kvm, vcpu) < 0)
		return 23;
	mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return 15;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return 16;
	probe_long_mode(mem, &sregs);
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return 17;
	regs.rip = 0x1000;
	regs.rflags = 0x2;
	regs.rsp = 0x1f0000;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return 18;
	for (int i = 0; i < 8; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return 19;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.port == 0x3f8 && run->io.direction == KVM_EXIT_IO_OUT &&
			    *((char *)run + run->io.data_offset) == 0x4b)
				saw_io = 1;
			continue;
		case KVM_EXIT_HLT:
			return saw_io ? 0 : 20;
		default:
			return 21;
		}
	}
	return 22;
}

int kt_vm_probe_kvm(void)
{
	uint64_t deadline;
	int status;
	pid_t pid;

	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		alarm(2);
		_exit(probe_in_child());
	}
	deadline = kt_now_ns() + 1500000000ull;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (kt_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
		kt_sleep_ns(5000000);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return -ENOEXEC;
}
