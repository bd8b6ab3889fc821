package io.kvmclock.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kvmclock.time.PvclockTimeInfo;
import java.lang.foreign.MemoryLayout;
import org.junit.jupiter.api.Test;

/** Struct sizes and offsets against the kernel's (pahole on include/uapi/linux/kvm.h, arch/x86/include/uapi/asm/kvm.h). */
class LayoutsTest {

    private static void at(long expected, MemoryLayout layout, String... path) {
        assertEquals(expected, Layouts.offset(layout, path), () -> layout.name().orElse("struct") + "." + String.join(".", path));
    }

    @Test
    void kvmClockData() {
        assertEquals(48, Layouts.KVM_CLOCK_DATA.byteSize());
        at(0, Layouts.KVM_CLOCK_DATA, "clock");
        at(8, Layouts.KVM_CLOCK_DATA, "flags");
        at(12, Layouts.KVM_CLOCK_DATA, "pad0");
        at(16, Layouts.KVM_CLOCK_DATA, "realtime");
        at(24, Layouts.KVM_CLOCK_DATA, "host_tsc");
        at(32, Layouts.KVM_CLOCK_DATA, "pad");
    }

    @Test
    void kvmDeviceAttr() {
        assertEquals(24, Layouts.KVM_DEVICE_ATTR.byteSize());
        at(0, Layouts.KVM_DEVICE_ATTR, "flags");
        at(4, Layouts.KVM_DEVICE_ATTR, "group");
        at(8, Layouts.KVM_DEVICE_ATTR, "attr");
        at(16, Layouts.KVM_DEVICE_ATTR, "addr");
    }

    @Test
    void kvmVcpuTscScale() {
        assertEquals(16, Layouts.KVM_VCPU_TSC_SCALE.byteSize());
        at(0, Layouts.KVM_VCPU_TSC_SCALE, "tsc_ratio");
        at(8, Layouts.KVM_VCPU_TSC_SCALE, "tsc_frac_bits");
        assertEquals(0, Layouts.TSC_SCALE_RATIO);
        assertEquals(8, Layouts.TSC_SCALE_FRAC_BITS);
    }

    @Test
    void pvclockMatchesTheCodec() {
        assertEquals(32, Layouts.PVCLOCK_VCPU_TIME_INFO.byteSize());
        assertEquals(PvclockTimeInfo.SIZE, Layouts.PVCLOCK_VCPU_TIME_INFO.byteSize());
        at(0, Layouts.PVCLOCK_VCPU_TIME_INFO, "version");
        at(8, Layouts.PVCLOCK_VCPU_TIME_INFO, "tsc_timestamp");
        at(16, Layouts.PVCLOCK_VCPU_TIME_INFO, "system_time");
        at(24, Layouts.PVCLOCK_VCPU_TIME_INFO, "tsc_to_system_mul");
        at(28, Layouts.PVCLOCK_VCPU_TIME_INFO, "tsc_shift");
        at(29, Layouts.PVCLOCK_VCPU_TIME_INFO, "flags");
        at(30, Layouts.PVCLOCK_VCPU_TIME_INFO, "pad");
    }

    @Test
    void kvmRunFieldsUsed() {
        assertEquals(1, Layouts.RUN_IMMEDIATE_EXIT);
        assertEquals(8, Layouts.RUN_EXIT_REASON);
        assertEquals(32, Layouts.RUN_UNION);
        assertEquals(32, Layouts.RUN_IO_DIRECTION);
        assertEquals(33, Layouts.RUN_IO_SIZE);
        assertEquals(34, Layouts.RUN_IO_PORT);
        assertEquals(36, Layouts.RUN_IO_COUNT);
        assertEquals(40, Layouts.RUN_IO_DATA_OFFSET);
    }

    @Test
    void kvmRegsAndSregs() {
        assertEquals(144, Layouts.KVM_REGS.byteSize());
        assertEquals(128, Layouts.REGS_RIP);
        assertEquals(136, Layouts.REGS_RFLAGS);
        assertEquals(24, Layouts.KVM_SEGMENT.byteSize());
        assertEquals(16, Layouts.KVM_DTABLE.byteSize());
        assertEquals(312, Layouts.KVM_SREGS.byteSize());
        at(0, Layouts.KVM_SREGS, "cs");
        at(120, Layouts.KVM_SREGS, "ss");
        at(192, Layouts.KVM_SREGS, "gdt");
        at(224, Layouts.KVM_SREGS, "cr0");
        at(272, Layouts.KVM_SREGS, "apic_base");
        at(280, Layouts.KVM_SREGS, "interrupt_bitmap");
        assertEquals(12, Layouts.SEGMENT_SELECTOR);
    }

    @Test
    void msrsCpuidAndMemoryRegion() {
        assertEquals(8, Layouts.KVM_MSRS.byteSize());
        assertEquals(16, Layouts.KVM_MSR_ENTRY.byteSize());
        assertEquals(8, Layouts.MSR_DATA);
        assertEquals(8, Layouts.KVM_CPUID2.byteSize());
        assertEquals(40, Layouts.KVM_CPUID_ENTRY2.byteSize());
        assertEquals(32, Layouts.KVM_USERSPACE_MEMORY_REGION.byteSize());
        assertEquals(8, Layouts.REGION_GPA);
        assertEquals(16, Layouts.REGION_SIZE);
        assertEquals(24, Layouts.REGION_UADDR);
    }
}
