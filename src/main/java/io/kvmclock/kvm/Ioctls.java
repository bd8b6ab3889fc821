package io.kvmclock.kvm;

import java.lang.foreign.MemoryLayout;

/**
 * Every ioctl the binding issues, computed as include/uapi/asm-generic/ioctl.h does from the struct sizes in
 * {@link Layouts}. The comment on each says which fd takes it and what gates it.
 */
final class Ioctls {
    private Ioctls() {}

    static final int KVMIO = 0xAE;
    private static final int IOC_NONE = 0;
    private static final int IOC_WRITE = 1;
    private static final int IOC_READ = 2;

    static long ioc(int dir, int type, int nr, long size) {
        if (size < 0 || size >= (1 << 14)) {
            throw new IllegalArgumentException("ioctl size " + size + " does not fit in 14 bits");
        }
        return ((long) dir << 30) | (size << 16) | ((long) type << 8) | nr;
    }

    static long io(int nr) {
        return ioc(IOC_NONE, KVMIO, nr, 0);
    }

    static long ior(int nr, MemoryLayout arg) {
        return ioc(IOC_READ, KVMIO, nr, arg.byteSize());
    }

    static long iow(int nr, MemoryLayout arg) {
        return ioc(IOC_WRITE, KVMIO, nr, arg.byteSize());
    }

    static long iowr(int nr, MemoryLayout arg) {
        return ioc(IOC_READ | IOC_WRITE, KVMIO, nr, arg.byteSize());
    }

    // system fd, always
    static final long KVM_GET_API_VERSION = io(0x00);
    // system fd, always
    static final long KVM_CREATE_VM = io(0x01);
    // system fd (and VM fd), always
    static final long KVM_CHECK_EXTENSION = io(0x03);
    // system fd, always
    static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);
    // system fd, KVM_CAP_EXT_CPUID
    static final long KVM_GET_SUPPORTED_CPUID = iowr(0x05, Layouts.KVM_CPUID2);
    // VM fd, always
    static final long KVM_CREATE_VCPU = io(0x41);
    // VM fd, KVM_CAP_USER_MEMORY
    static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, Layouts.KVM_USERSPACE_MEMORY_REGION);
    // VM fd, KVM_CAP_SET_TSS_ADDR (required on Intel before the first KVM_RUN)
    static final long KVM_SET_TSS_ADDR = io(0x47);
    // VM fd, KVM_CAP_ADJUST_CLOCK
    static final long KVM_SET_CLOCK = iow(0x7b, Layouts.KVM_CLOCK_DATA);
    // VM fd, KVM_CAP_ADJUST_CLOCK
    static final long KVM_GET_CLOCK = ior(0x7c, Layouts.KVM_CLOCK_DATA);
    // vCPU fd, always
    static final long KVM_RUN = io(0x80);
    // vCPU fd, always
    static final long KVM_GET_REGS = ior(0x81, Layouts.KVM_REGS);
    // vCPU fd, always
    static final long KVM_SET_REGS = iow(0x82, Layouts.KVM_REGS);
    // vCPU fd, always
    static final long KVM_GET_SREGS = ior(0x83, Layouts.KVM_SREGS);
    // vCPU fd, always
    static final long KVM_SET_SREGS = iow(0x84, Layouts.KVM_SREGS);
    // vCPU fd, always (x86)
    static final long KVM_GET_MSRS = iowr(0x88, Layouts.KVM_MSRS);
    // vCPU fd, always (x86)
    static final long KVM_SET_MSRS = iow(0x89, Layouts.KVM_MSRS);
    // vCPU fd, KVM_CAP_EXT_CPUID
    static final long KVM_SET_CPUID2 = iow(0x90, Layouts.KVM_CPUID2);
    // vCPU fd: the signal mask KVM_RUN runs with (struct kvm_signal_mask: u32 len, then len bytes); NULL clears it
    static final long KVM_SET_SIGNAL_MASK = ioc(IOC_WRITE, KVMIO, 0x8b, 4);
    // vCPU fd with KVM_CAP_TSC_CONTROL; VM fd with KVM_CAP_VM_TSC_CONTROL, before any vCPU exists
    static final long KVM_SET_TSC_KHZ = io(0xa2);
    // vCPU fd with KVM_CAP_GET_TSC_KHZ; VM fd with KVM_CAP_VM_TSC_CONTROL
    static final long KVM_GET_TSC_KHZ = io(0xa3);
    // vCPU fd, KVM_CAP_KVMCLOCK_CTRL
    static final long KVM_KVMCLOCK_CTRL = io(0xad);
    // vCPU fd, proposed (kvm_vcpu_ioctl_get_clock_guest, docs/kvm-clock.md); not in mainline: no capability, detected by trying
    static final long KVM_SET_CLOCK_GUEST = iow(0xd6, Layouts.PVCLOCK_VCPU_TIME_INFO);
    // vCPU fd, proposed (kvm_vcpu_ioctl_get_clock_guest, docs/kvm-clock.md); not in mainline: no capability, detected by trying
    static final long KVM_GET_CLOCK_GUEST = ior(0xd7, Layouts.PVCLOCK_VCPU_TIME_INFO);
    // vCPU fd, KVM_CAP_VCPU_ATTRIBUTES (group KVM_VCPU_TSC_CTRL)
    static final long KVM_SET_DEVICE_ATTR = iow(0xe1, Layouts.KVM_DEVICE_ATTR);
    // vCPU fd, KVM_CAP_VCPU_ATTRIBUTES
    static final long KVM_GET_DEVICE_ATTR = iow(0xe2, Layouts.KVM_DEVICE_ATTR);
    // vCPU fd, KVM_CAP_VCPU_ATTRIBUTES
    static final long KVM_HAS_DEVICE_ATTR = iow(0xe3, Layouts.KVM_DEVICE_ATTR);

    static final int KVM_API_VERSION = 12;

    static final int KVM_CAP_ADJUST_CLOCK = 39;
    static final int KVM_CAP_TSC_CONTROL = 60;
    static final int KVM_CAP_GET_TSC_KHZ = 61;
    static final int KVM_CAP_KVMCLOCK_CTRL = 76;
    static final int KVM_CAP_VCPU_ATTRIBUTES = 127;
    static final int KVM_CAP_VM_TSC_CONTROL = 214;

    static final int KVM_VCPU_TSC_CTRL = 0;
    static final int KVM_VCPU_TSC_OFFSET = 0;
    // KVM_[GS|HAS]_DEVICE_ATTR on a vCPU fd, KVM_CAP_VCPU_ATTRIBUTES and TSC control (kvm_caps.has_tsc_control,
    // which KVM_CAP_TSC_CONTROL reports); read-only; v6 series patch 09, not in 6.18 (ENXIO either way)
    static final int KVM_VCPU_TSC_SCALE = 1;

    static final int KVM_EXIT_IO = 2;
    static final int KVM_EXIT_HLT = 5;
    static final int KVM_EXIT_INTR = 10;
    static final int KVM_EXIT_FAIL_ENTRY = 9;
    static final int KVM_EXIT_INTERNAL_ERROR = 17;
    static final int KVM_EXIT_IO_OUT = 1;
}
