package io.kvmclock.cli;

import io.kvmclock.hv.HostProfile;
import io.kvmclock.hv.HvUnavailableException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.kvm.HostProbe;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.sim.LatencyCalibration;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Supplier;
import picocli.CommandLine;

/**
 * Which backend a command runs on. Commands that need the real kernel use {@link #open()} (tests may
 * replace {@link #source}); commands that can run anywhere take a {@link Choice}: auto is real KVM where
 * /dev/kvm can be opened, else the embedded model, and says so.
 */
final class Backends {
    private Backends() {}

    enum Choice { auto, kvm, sim }

    /**
     * Model hosts for --sim-host, parsed here and nowhere else: {@code this} is the host this runs on, probed and
     * calibrated now (where /dev/kvm is usable; else the typical host, and the note says so); the others are
     * fixed presets (SimHostConfig says where each came from).
     */
    enum SimHost {
        THIS("this"),
        PVM_INTEL_2026_11("pvm-intel-2026-11"),
        KVM_INTEL("kvm-intel"),
        KVM_AMD("kvm-amd"),
        CLOCKGUEST("clockguest"),
        V6("v6");

        final String label;

        SimHost(String label) {
            this.label = label;
        }

        /** The model host and, for {@code this} without KVM, a note saying which host stands in. */
        Model model() {
            return switch (this) {
                case THIS -> thisHost();
                case PVM_INTEL_2026_11 -> new Model(SimHostConfig.pvmIntel202611(), Optional.empty());
                case KVM_INTEL -> new Model(SimHostConfig.kvmIntel(), Optional.empty());
                case KVM_AMD -> new Model(SimHostConfig.kvmAmd(), Optional.empty());
                case CLOCKGUEST -> new Model(SimHostConfig.clockGuestHost(), Optional.empty());
                case V6 -> new Model(SimHostConfig.v6Host(), Optional.empty());
            };
        }

        static SimHost parse(String s) {
            for (SimHost h : values()) {
                if (h.label.equals(s) || h.label.replace("-", "").equals(s)) {
                    return h;
                }
            }
            throw new CommandLine.TypeConversionException("unknown model host '" + s + "' (use "
                    + String.join(", ", Arrays.stream(values()).map(h -> h.label).toList()) + ")");
        }
    }

    /** picocli's hook for {@link SimHost#parse}. */
    static final class SimHostConverter implements CommandLine.ITypeConverter<SimHost> {
        @Override
        public SimHost convert(String value) {
            return SimHost.parse(value);
        }
    }

    /** The backend opened; {@code realKvm} whether it is the kernel's KVM (what real QEMU beside it needs). */
    record Opened(Hypervisor hypervisor, boolean realKvm, Optional<String> note) {}

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

    /** A model host, and a line saying which host it is where the name alone does not. */
    record Model(SimHostConfig config, Optional<String> note) {}

    /** VMs the calibration of {@code --sim-host this} runs, and its time budget. */
    static final int CALIBRATION_VMS = 12;
    static final long CALIBRATION_BUDGET_NS = 1_500_000_000L;

    /**
     * This host: the probe's profile with latencies fitted on the spot, or, without a usable /dev/kvm, the
     * typical host (docs/model.md) with a note saying so.
     */
    static Model thisHost() {
        Optional<String> why = KvmHypervisor.unavailableReason();
        if (why.isPresent()) {
            return new Model(SimHostConfig.typical(), Optional.of(why.get()
                    + ": running on the embedded model of a typical host, not this one (kvm_intel, tsc_khz "
                    + SimHostConfig.typical().tscKhz() + ", no TSC scaling, no CLOCK_GUEST)"));
        }
        try (Hypervisor hv = KvmHypervisor.open()) {
            HostProfile p = HostProbe.run(hv).profile();
            long t0 = System.nanoTime();
            LatencyCalibration.Measured m = LatencyCalibration.measure(hv, CALIBRATION_VMS, CALIBRATION_BUDGET_NS,
                    hv::monotonicRawNs);
            return new Model(SimHostConfig.of("this", p, LatencyCalibration.fit(m)), Optional.of(String.format(
                    "modelling this host (%s), latencies calibrated on %d VMs in %d ms", p.summary(), m.vms(),
                    (System.nanoTime() - t0) / 1_000_000)));
        }
    }

    static Opened open(Choice choice, long seed) {
        return open(choice, seed, SimHost.THIS);
    }

    static Opened open(Choice choice, long seed, SimHost simHost) {
        return switch (choice) {
            case kvm -> new Opened(openReal(), true, Optional.empty());
            case sim -> sim(seed, simHost, Optional.empty());
            case auto -> {
                Optional<String> why = KvmHypervisor.unavailableReason();
                yield why.isEmpty() ? new Opened(openReal(), true, Optional.empty())
                        : sim(seed, simHost, Optional.of(why.get() + ": running on the embedded model (--backend sim)"));
            }
        };
    }

    private static Opened sim(long seed, SimHost simHost, Optional<String> why) {
        Model m = simHost.model();
        return new Opened(SimHypervisor.create(m.config(), seed), false, m.note().or(() -> why));
    }
}
