package io.kvmclock.cli;

import io.kvmclock.hv.Hypervisor;
import java.util.function.Supplier;

/**
 * THE SEAM for commands that need real KVM. The lead connects {@link #openReal} to io.kvmclock.kvm at merge;
 * until then it reports that the real backend is not built. Tests may replace {@link #source}.
 */
final class Backends {
    private Backends() {}

    static Supplier<Hypervisor> source = Backends::openReal;

    static Hypervisor open() {
        return source.get();
    }

    // TODO(lead): return the io.kvmclock.kvm backend here.
    static Hypervisor openReal() {
        throw new UserError(ExitCode.ENVIRONMENT,
                "the real KVM backend (io.kvmclock.kvm) is not built into this branch yet: --measure needs it");
    }
}
