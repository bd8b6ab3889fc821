package io.kvmclock.kvm;

import io.kvmclock.hv.Hypervisor;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * The one way a test reaches real KVM: it opens /dev/kvm, or skips the test with the reason it cannot. The
 * system property kvmclock.test.device points the tests at another node, e.g. -Dkvmclock.test.device=/nonexistent
 * to check that the suite still runs, with these tests skipped, on a machine without KVM (.ci/run does the
 * same by binding /dev/null over /dev/kvm). Every test that comes here carries {@code @Tag(RealKvm.TAG)}, so
 * {@code ./run-tests -DexcludedGroups=kvm} leaves them out.
 */
public final class RealKvm {
    /** The JUnit tag of every test that needs real KVM. */
    public static final String TAG = "kvm";

    private RealKvm() {}

    /** The system property that points the tests at another device node. */
    public static final String DEVICE_PROPERTY = "kvmclock.test.device";

    /** The device the tests use: /dev/kvm unless kvmclock.test.device names another. */
    public static Path device() {
        return Path.of(System.getProperty(DEVICE_PROPERTY, KvmHypervisor.DEVICE));
    }

    /** The JVM option that hands this device to a child JVM a test starts, whose main opens {@link #device()}. */
    public static String childJvmOption() {
        return "-D" + DEVICE_PROPERTY + "=" + device();
    }

    /** Skips the calling test, with the reason, unless the device answers as KVM. */
    public static void assumeAvailable() {
        Optional<String> reason = KvmHypervisor.unavailableReason(device());
        Assumptions.assumeTrue(reason.isEmpty(), () -> "skipped, real KVM needed: " + reason.orElseThrow());
    }

    public static Hypervisor openOrSkip() {
        assumeAvailable();
        return KvmHypervisor.open(device());
    }
}
