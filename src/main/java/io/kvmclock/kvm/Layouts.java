package io.kvmclock.kvm;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/** The uapi structs (include/uapi/linux/kvm.h, arch/x86/include/uapi/asm/kvm.h) as the binding uses them. */
final class Layouts {
    private Layouts() {}

    static final StructLayout KVM_CLOCK_DATA = structLayout(
            JAVA_LONG.withName("clock"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("pad0"),
            JAVA_LONG.withName("realtime"),
            JAVA_LONG.withName("host_tsc"),
            sequenceLayout(4, JAVA_INT).withName("pad"));

    static final StructLayout KVM_DEVICE_ATTR = structLayout(
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("group"),
            JAVA_LONG.withName("attr"),
            JAVA_LONG.withName("addr"));

    /** struct kvm_vcpu_tsc_scale (v6 patch 09, arch/x86/include/uapi/asm/kvm.h), the KVM_VCPU_TSC_SCALE value. */
    static final StructLayout KVM_VCPU_TSC_SCALE = structLayout(
            JAVA_LONG.withName("tsc_ratio"),
            JAVA_LONG.withName("tsc_frac_bits"));

    /** Packed in the kernel; naturally aligned anyway, so no padding appears. */
    static final StructLayout PVCLOCK_VCPU_TIME_INFO = structLayout(
            JAVA_INT.withName("version"),
            JAVA_INT.withName("pad0"),
            JAVA_LONG.withName("tsc_timestamp"),
            JAVA_LONG.withName("system_time"),
            JAVA_INT.withName("tsc_to_system_mul"),
            JAVA_BYTE.withName("tsc_shift"),
            JAVA_BYTE.withName("flags"),
            sequenceLayout(2, JAVA_BYTE).withName("pad"));

    /** struct kvm_run up to the io member of its exit union (the only parts used). */
    static final StructLayout KVM_RUN_IO = structLayout(
            JAVA_BYTE.withName("request_interrupt_window"),
            JAVA_BYTE.withName("immediate_exit"),
            paddingLayout(6),
            JAVA_INT.withName("exit_reason"),
            JAVA_BYTE.withName("ready_for_interrupt_injection"),
            JAVA_BYTE.withName("if_flag"),
            JAVA_SHORT.withName("flags"),
            JAVA_LONG.withName("cr8"),
            JAVA_LONG.withName("apic_base"),
            structLayout(
                    JAVA_BYTE.withName("direction"),
                    JAVA_BYTE.withName("size"),
                    JAVA_SHORT.withName("port"),
                    JAVA_INT.withName("count"),
                    JAVA_LONG.withName("data_offset")).withName("io"));

    static final StructLayout KVM_REGS = structLayout(
            JAVA_LONG.withName("rax"), JAVA_LONG.withName("rbx"), JAVA_LONG.withName("rcx"),
            JAVA_LONG.withName("rdx"), JAVA_LONG.withName("rsi"), JAVA_LONG.withName("rdi"),
            JAVA_LONG.withName("rsp"), JAVA_LONG.withName("rbp"),
            JAVA_LONG.withName("r8"), JAVA_LONG.withName("r9"), JAVA_LONG.withName("r10"),
            JAVA_LONG.withName("r11"), JAVA_LONG.withName("r12"), JAVA_LONG.withName("r13"),
            JAVA_LONG.withName("r14"), JAVA_LONG.withName("r15"),
            JAVA_LONG.withName("rip"), JAVA_LONG.withName("rflags"));

    static final StructLayout KVM_SEGMENT = structLayout(
            JAVA_LONG.withName("base"),
            JAVA_INT.withName("limit"),
            JAVA_SHORT.withName("selector"),
            JAVA_BYTE.withName("type"),
            JAVA_BYTE.withName("present"),
            JAVA_BYTE.withName("dpl"),
            JAVA_BYTE.withName("db"),
            JAVA_BYTE.withName("s"),
            JAVA_BYTE.withName("l"),
            JAVA_BYTE.withName("g"),
            JAVA_BYTE.withName("avl"),
            JAVA_BYTE.withName("unusable"),
            JAVA_BYTE.withName("padding"));

    static final StructLayout KVM_DTABLE = structLayout(
            JAVA_LONG.withName("base"),
            JAVA_SHORT.withName("limit"),
            sequenceLayout(3, JAVA_SHORT).withName("padding"));

    static final StructLayout KVM_SREGS = structLayout(
            KVM_SEGMENT.withName("cs"), KVM_SEGMENT.withName("ds"), KVM_SEGMENT.withName("es"),
            KVM_SEGMENT.withName("fs"), KVM_SEGMENT.withName("gs"), KVM_SEGMENT.withName("ss"),
            KVM_SEGMENT.withName("tr"), KVM_SEGMENT.withName("ldt"),
            KVM_DTABLE.withName("gdt"), KVM_DTABLE.withName("idt"),
            JAVA_LONG.withName("cr0"), JAVA_LONG.withName("cr2"), JAVA_LONG.withName("cr3"),
            JAVA_LONG.withName("cr4"), JAVA_LONG.withName("cr8"), JAVA_LONG.withName("efer"),
            JAVA_LONG.withName("apic_base"),
            sequenceLayout(4, JAVA_LONG).withName("interrupt_bitmap"));

    /** struct kvm_msrs header (u32 nmsrs, u32 pad), followed by nmsrs entries. */
    static final StructLayout KVM_MSRS = structLayout(JAVA_INT.withName("nmsrs"), JAVA_INT.withName("pad"));

    static final StructLayout KVM_MSR_ENTRY = structLayout(
            JAVA_INT.withName("index"),
            JAVA_INT.withName("reserved"),
            JAVA_LONG.withName("data"));

    static final StructLayout KVM_USERSPACE_MEMORY_REGION = structLayout(
            JAVA_INT.withName("slot"),
            JAVA_INT.withName("flags"),
            JAVA_LONG.withName("guest_phys_addr"),
            JAVA_LONG.withName("memory_size"),
            JAVA_LONG.withName("userspace_addr"));

    /** struct kvm_cpuid2 header (u32 nent, u32 padding), followed by nent entries. */
    static final StructLayout KVM_CPUID2 = structLayout(JAVA_INT.withName("nent"), JAVA_INT.withName("padding"));

    static final StructLayout KVM_CPUID_ENTRY2 = structLayout(
            JAVA_INT.withName("function"), JAVA_INT.withName("index"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("eax"), JAVA_INT.withName("ebx"), JAVA_INT.withName("ecx"), JAVA_INT.withName("edx"),
            sequenceLayout(3, JAVA_INT).withName("padding"));

    static long offset(MemoryLayout layout, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = groupElement(path[i]);
        }
        return layout.byteOffset(elements);
    }

    static final long CLOCK_CLOCK = offset(KVM_CLOCK_DATA, "clock");
    static final long CLOCK_FLAGS = offset(KVM_CLOCK_DATA, "flags");
    static final long CLOCK_REALTIME = offset(KVM_CLOCK_DATA, "realtime");
    static final long CLOCK_HOST_TSC = offset(KVM_CLOCK_DATA, "host_tsc");

    static final long ATTR_GROUP = offset(KVM_DEVICE_ATTR, "group");
    static final long ATTR_ATTR = offset(KVM_DEVICE_ATTR, "attr");
    static final long ATTR_ADDR = offset(KVM_DEVICE_ATTR, "addr");

    static final long TSC_SCALE_RATIO = offset(KVM_VCPU_TSC_SCALE, "tsc_ratio");
    static final long TSC_SCALE_FRAC_BITS = offset(KVM_VCPU_TSC_SCALE, "tsc_frac_bits");

    static final long RUN_IMMEDIATE_EXIT = offset(KVM_RUN_IO, "immediate_exit");
    static final long RUN_EXIT_REASON = offset(KVM_RUN_IO, "exit_reason");
    static final long RUN_IO_DIRECTION = offset(KVM_RUN_IO, "io", "direction");
    static final long RUN_IO_SIZE = offset(KVM_RUN_IO, "io", "size");
    static final long RUN_IO_PORT = offset(KVM_RUN_IO, "io", "port");
    static final long RUN_IO_COUNT = offset(KVM_RUN_IO, "io", "count");
    static final long RUN_IO_DATA_OFFSET = offset(KVM_RUN_IO, "io", "data_offset");
    /** The exit union; for FAIL_ENTRY its first u64 is hardware_entry_failure_reason, for INTERNAL_ERROR suberror. */
    static final long RUN_UNION = offset(KVM_RUN_IO, "io");

    static final long REGS_RIP = offset(KVM_REGS, "rip");
    static final long REGS_RFLAGS = offset(KVM_REGS, "rflags");
    static final long REGS_RSP = offset(KVM_REGS, "rsp");
    static final long SREGS_CS = offset(KVM_SREGS, "cs");
    static final long SEGMENT_BASE = offset(KVM_SEGMENT, "base");
    static final long SEGMENT_SELECTOR = offset(KVM_SEGMENT, "selector");

    static final long MSRS_HEADER = KVM_MSRS.byteSize();
    static final long MSR_INDEX = offset(KVM_MSR_ENTRY, "index");
    static final long MSR_DATA = offset(KVM_MSR_ENTRY, "data");

    static final long REGION_SLOT = offset(KVM_USERSPACE_MEMORY_REGION, "slot");
    static final long REGION_GPA = offset(KVM_USERSPACE_MEMORY_REGION, "guest_phys_addr");
    static final long REGION_SIZE = offset(KVM_USERSPACE_MEMORY_REGION, "memory_size");
    static final long REGION_UADDR = offset(KVM_USERSPACE_MEMORY_REGION, "userspace_addr");
}
