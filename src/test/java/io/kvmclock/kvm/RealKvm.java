package io.kvmclock.kvm;

import io.kvmclock.hv.Hypervisor;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * Opens /dev/kvm for a test, or skips the test with the reason it cannot. The system property
 * kvmclock.test.device points the tests at another node, e.g. -Dkvmclock.test.device=/nonexistent to check
 * that the suite still runs, with these tests skipped, on a machine without KVM.
 */
public final class RealKvm {
    private RealKvm() {}

    public static Hypervisor openOrSkip() {
        Path device = Path.of(System.getProperty("kvmclock.test.device", KvmHypervisor.DEVICE));
        var reason = KvmHypervisor.unavailableReason(device);
        Assumptions.assumeTrue(reason.isEmpty(), () -> "skipped, real KVM needed: " + reason.orElseThrow());
        return KvmHypervisor.open(device);
    }
}
