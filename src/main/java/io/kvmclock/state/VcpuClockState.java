package io.kvmclock.state;

import io.kvmclock.state.StateFormatException.Reason;
import io.kvmclock.time.TscRate;
import java.util.Objects;

/**
 * One vCPU's clocks: KVM_VCPU_TSC_OFFSET, the guest TSC (MSR IA32_TSC) read at capture, KVM_GET_TSC_KHZ,
 * the TSC scaling ratio, the pvclock as the guest sees it, and (format 1.2) KVM_VCPU_TSC_SCALE where the
 * kernel has it. {@code tscOffset} and {@code guestTsc} are u64 values held in longs. Where the kernel's
 * reading is there, {@code scaling} was taken from it, and the two must agree.
 */
public record VcpuClockState(int id, long tscOffset, long guestTsc, long tscKhz, TscRate scaling,
                             GuestPvclock pvclock, ScaleReading kernelScale) {

    /** KVM_MAX_VCPU_IDS on x86: KVM_MAX_VCPUS (at most 4096) times KVM_VCPU_ID_RATIO (4). */
    public static final int MAX_ID_EXCLUSIVE = 4096 * 4;
    /** FrequencyConverter's range, which every real TSC is in. */
    public static final long MAX_TSC_KHZ = 10_000_000;

    public VcpuClockState {
        Objects.requireNonNull(scaling, "scaling");
        Objects.requireNonNull(pvclock, "pvclock");
        if (id < 0 || id >= MAX_ID_EXCLUSIVE) {
            throw new StateFormatException(Reason.VCPU_COUNT_OUT_OF_RANGE, "vCPU id " + Integer.toUnsignedString(id)
                    + " is outside 0.." + (MAX_ID_EXCLUSIVE - 1) + " (KVM_MAX_VCPU_IDS)");
        }
        checkTscKhz("vCPU " + id + ": tsc_khz", tscKhz);
        Objects.requireNonNull(kernelScale, "kernelScale");
        if (kernelScale instanceof ScaleReading.FromKernel k && k.scale().rate().filter(r -> !r.equals(scaling)).isPresent()) {
            throw new StateFormatException(Reason.BAD_SCALING_RATIO, "vCPU " + id + ": KVM_VCPU_TSC_SCALE read ratio 0x"
                    + Long.toHexString(k.scale().tscRatio()) + " with " + k.scale().tscFracBits()
                    + " fractional bits, which disagrees with the scaling recorded beside it");
        }
    }

    /** A vCPU captured without KVM_VCPU_TSC_SCALE (a 6.18 kernel, or a file before 1.2). */
    public VcpuClockState(int id, long tscOffset, long guestTsc, long tscKhz, TscRate scaling, GuestPvclock pvclock) {
        this(id, tscOffset, guestTsc, tscKhz, scaling, pvclock, new ScaleReading.NotRead());
    }

    static void checkTscKhz(String what, long khz) {
        if (khz == 0) {
            throw new StateFormatException(Reason.TSC_KHZ_OUT_OF_RANGE, what + " is 0");
        }
        if (khz < 0 || khz > MAX_TSC_KHZ) {
            throw new StateFormatException(Reason.TSC_KHZ_OUT_OF_RANGE, what + " " + Long.toUnsignedString(khz)
                    + " is above " + MAX_TSC_KHZ + " (10 GHz)");
        }
    }
}
