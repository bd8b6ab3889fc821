package io.kvmclock.kvm;

import io.kvmclock.hv.Hypervisor;
import org.junit.jupiter.api.Assumptions;

/** Opens /dev/kvm for a test, or skips the test with the reason it cannot. */
public final class RealKvm {
    private RealKvm() {}

    public static Hypervisor openOrSkip() {
        var reason = KvmHypervisor.unavailableReason();
        Assumptions.assumeTrue(reason.isEmpty(), () -> "skipped, real KVM needed: " + reason.orElseThrow());
        return KvmHypervisor.open();
    }
}
