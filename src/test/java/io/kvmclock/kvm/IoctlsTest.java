package io.kvmclock.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Each computed ioctl number against the literal from the kernel headers (include/uapi/linux/kvm.h; docs/kvm-clock.md, "The clock ioctls"). */
class IoctlsTest {

    private static void is(long literal, long computed, String name) {
        assertEquals(literal, computed, () -> String.format("%s: computed 0x%X, the header says 0x%X", name, computed, literal));
    }

    @Test
    void systemIoctls() {
        is(0xAE00L, Ioctls.KVM_GET_API_VERSION, "KVM_GET_API_VERSION");
        is(0xAE01L, Ioctls.KVM_CREATE_VM, "KVM_CREATE_VM");
        is(0xAE03L, Ioctls.KVM_CHECK_EXTENSION, "KVM_CHECK_EXTENSION");
        is(0xAE04L, Ioctls.KVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE");
        is(0xC008AE05L, Ioctls.KVM_GET_SUPPORTED_CPUID, "KVM_GET_SUPPORTED_CPUID");
    }

    @Test
    void vmIoctls() {
        is(0xAE41L, Ioctls.KVM_CREATE_VCPU, "KVM_CREATE_VCPU");
        is(0x4020AE46L, Ioctls.KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION");
        is(0xAE47L, Ioctls.KVM_SET_TSS_ADDR, "KVM_SET_TSS_ADDR");
        is(0x4030AE7BL, Ioctls.KVM_SET_CLOCK, "KVM_SET_CLOCK");
        is(0x8030AE7CL, Ioctls.KVM_GET_CLOCK, "KVM_GET_CLOCK");
    }

    @Test
    void vcpuIoctls() {
        is(0xAE80L, Ioctls.KVM_RUN, "KVM_RUN");
        is(0x8090AE81L, Ioctls.KVM_GET_REGS, "KVM_GET_REGS");
        is(0x4090AE82L, Ioctls.KVM_SET_REGS, "KVM_SET_REGS");
        is(0x8138AE83L, Ioctls.KVM_GET_SREGS, "KVM_GET_SREGS");
        is(0x4138AE84L, Ioctls.KVM_SET_SREGS, "KVM_SET_SREGS");
        is(0xC008AE88L, Ioctls.KVM_GET_MSRS, "KVM_GET_MSRS");
        is(0x4008AE89L, Ioctls.KVM_SET_MSRS, "KVM_SET_MSRS");
        is(0x4008AE90L, Ioctls.KVM_SET_CPUID2, "KVM_SET_CPUID2");
        is(0x4004AE8BL, Ioctls.KVM_SET_SIGNAL_MASK, "KVM_SET_SIGNAL_MASK");
    }

    @Test
    void clockIoctls() {
        is(0xAEA2L, Ioctls.KVM_SET_TSC_KHZ, "KVM_SET_TSC_KHZ");
        is(0xAEA3L, Ioctls.KVM_GET_TSC_KHZ, "KVM_GET_TSC_KHZ");
        is(0xAEADL, Ioctls.KVM_KVMCLOCK_CTRL, "KVM_KVMCLOCK_CTRL");
        is(0x4018AEE1L, Ioctls.KVM_SET_DEVICE_ATTR, "KVM_SET_DEVICE_ATTR");
        is(0x4018AEE2L, Ioctls.KVM_GET_DEVICE_ATTR, "KVM_GET_DEVICE_ATTR");
        is(0x4018AEE3L, Ioctls.KVM_HAS_DEVICE_ATTR, "KVM_HAS_DEVICE_ATTR");
        is(0x4020AED6L, Ioctls.KVM_SET_CLOCK_GUEST, "KVM_SET_CLOCK_GUEST");
        is(0x8020AED7L, Ioctls.KVM_GET_CLOCK_GUEST, "KVM_GET_CLOCK_GUEST");
    }

    @Test
    void tscCtrlAttributes() {
        assertEquals(0, Ioctls.KVM_VCPU_TSC_CTRL);
        assertEquals(0, Ioctls.KVM_VCPU_TSC_OFFSET);
        assertEquals(1, Ioctls.KVM_VCPU_TSC_SCALE, "v6 patch 09, arch/x86/include/uapi/asm/kvm.h");
    }

    @Test
    void sizeMustFitFourteenBits() {
        assertThrows(IllegalArgumentException.class, () -> Ioctls.ioc(2, Ioctls.KVMIO, 1, 1 << 14));
    }
}
