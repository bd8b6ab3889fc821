package io.kvmclock.kvm;

import io.kvmclock.hv.HvUnavailableException;
import io.kvmclock.hv.Hypervisor;
import java.nio.file.Path;
import java.util.Optional;

/** The public entry point of the real backend: /dev/kvm through the FFM API. */
public final class KvmHypervisor {
    private KvmHypervisor() {}

    public static final String DEVICE = "/dev/kvm";

    /**
     * Opens /dev/kvm. Throws {@link HvUnavailableException} with one line saying what is missing (the device,
     * the permission, a usable API version) and what to do.
     */
    public static Hypervisor open() {
        return Kvm.open(DEVICE);
    }

    /** As {@link #open()} with another device node (a test, a container with KVM elsewhere). */
    public static Hypervisor open(Path device) {
        return Kvm.open(device.toString());
    }

    /** Why KVM cannot be used here, or empty when /dev/kvm opens: for tests to skip with a reason. */
    public static Optional<String> unavailableReason() {
        return unavailableReason(Path.of(DEVICE));
    }

    /** As {@link #unavailableReason()} for another device node. */
    public static Optional<String> unavailableReason(Path device) {
        try (Hypervisor h = open(device)) {
            return Optional.empty();
        } catch (HvUnavailableException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** The loaded KVM vendor module (kvm_intel, kvm_amd, kvm_pvm) from /sys/module, or "unknown". */
    public static String vendorModule() {
        return HostProbe.loadedVendorModule();
    }
}
