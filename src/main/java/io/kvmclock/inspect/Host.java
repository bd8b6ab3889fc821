package io.kvmclock.inspect;

import java.util.function.LongSupplier;

/**
 * This host as the inspector needs it: KVM's tsc_khz (what pvclocks are checked against), whether its KVM can
 * scale a guest's TSC (KVM_CAP_TSC_CONTROL; without it no pvclock encodes another rate), the vendor module
 * (kvm_pvm runs guests on the native TSC, so their offset is 0) and a way to read the host TSC now (the CLI
 * passes KVM_GET_CLOCK's host_tsc on a VM of its own).
 */
public record Host(long tscKhz, boolean scalesTsc, String vendorModule, LongSupplier hostTsc) {
    public static final String PVM = "kvm_pvm";

    public boolean guestsRunOnHostTsc() {
        return vendorModule.equals(PVM);
    }
}
