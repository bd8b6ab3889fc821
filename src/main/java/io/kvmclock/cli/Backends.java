package io.kvmclock.cli;

import io.kvmclock.hv.HvUnavailableException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Which backend a command runs on. Commands that need the real kernel use {@link #open()} (tests may
 * replace {@link #source}); commands that can run anywhere take a {@link Choice}: auto is real KVM where
 * /dev/kvm can be opened, else the embedded model, and says so.
 */
final class Backends {
    private Backends() {}

    enum Choice { auto, kvm, sim }

    /** Model hosts for --sim-host: this machine (kvm_pvm), the same with kvm_intel, or with CLOCK_GUEST and VMX scaling. */
    enum SimHost {
        thismachine, kvmintel, clockguest, v6;

        SimHostConfig config() {
            return switch (this) {
                case thismachine -> SimHostConfig.thisMachine();
                case kvmintel -> SimHostConfig.kvmIntel();
                case clockguest -> SimHostConfig.clockGuestHost();
                case v6 -> SimHostConfig.v6Host();
            };
        }
    }

    record Opened(Hypervisor hypervisor, String note) {}

    static Supplier<Hypervisor> source = Backends::openReal;

    static Hypervisor open() {
        return source.get();
    }

    /** Real KVM, or a one-line environment error (exit 3) saying what is missing and what to do. */
    static Hypervisor openReal() {
        try {
            return KvmHypervisor.open();
        } catch (HvUnavailableException e) {
            throw new UserError(ExitCode.ENVIRONMENT, e.getMessage());
        }
    }

    static Opened open(Choice choice, long seed) {
        return open(choice, seed, SimHost.thismachine);
    }

    static Opened open(Choice choice, long seed, SimHost simHost) {
        return switch (choice) {
            case kvm -> new Opened(openReal(), null);
            case sim -> new Opened(SimHypervisor.create(simHost.config(), seed), null);
            case auto -> {
                Optional<String> why = KvmHypervisor.unavailableReason();
                yield why.isEmpty() ? new Opened(openReal(), null)
                        : new Opened(SimHypervisor.create(simHost.config(), seed),
                                why.get() + ": running on the embedded model (--backend sim)");
            }
        };
    }
}
