package io.kvmclock.hv;

import io.kvmclock.time.TscScaling;
import java.util.Optional;

/**
 * What a host's kernel and KVM do for guest clocks, as a probe reads it on the running machine: enough to
 * build a model of that host (io.kvmclock.sim.SimHostConfig#of) and to say which host a measurement was
 * taken on ({@link #summary()}).
 *
 * @param cpuVendor         /proc/cpuinfo vendor_id (GenuineIntel, AuthenticAMD, ...)
 * @param cpuModel          /proc/cpuinfo model name
 * @param kernel            uname release
 * @param vendorModule      the loaded KVM vendor module: kvm_intel, kvm_amd, kvm_pvm, or "unknown"
 * @param tscKhz            KVM_GET_TSC_KHZ of a fresh vCPU (the host's tsc_khz as KVM uses it)
 * @param clocksource       the host's current clocksource
 * @param tscScaling        KVM_CAP_TSC_CONTROL with the ratio format its CPU vendor uses, or empty
 * @param vmTscControl      KVM_CAP_VM_TSC_CONTROL
 * @param clockGuest        whether KVM_[GS]ET_CLOCK_GUEST exist
 * @param tscOffsetHonoured whether a KVM_VCPU_TSC_OFFSET write reads back as written
 * @param tscMsrHonoured    whether a host IA32_TSC write moves the guest TSC
 */
public record HostProfile(String cpuVendor, String cpuModel, String kernel, String vendorModule, long tscKhz,
                          String clocksource, Optional<TscScaling> tscScaling, boolean vmTscControl, boolean clockGuest,
                          boolean tscOffsetHonoured, boolean tscMsrHonoured) {

    /** The ratio format a CPU vendor's TSC scaling uses: SVM on AMD and Hygon, VMX otherwise. */
    public static TscScaling scalingFormat(String cpuVendor) {
        return cpuVendor.equals("AuthenticAMD") || cpuVendor.equals("HygonGenuine") ? TscScaling.SVM : TscScaling.VMX;
    }

    /** One line naming the host, the way every measurement in the docs names where it was taken. */
    public String summary() {
        return String.format("%s (%s), kernel %s, %s, tsc_khz %d, clocksource %s", cpuModel, cpuVendor, kernel,
                vendorModule, tscKhz, clocksource);
    }
}
