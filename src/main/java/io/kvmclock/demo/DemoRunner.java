package io.kvmclock.demo;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Boost;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.restore.ClockCapture;
import io.kvmclock.restore.RestoreFailedException;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.RestoreReport;
import io.kvmclock.restore.RestoreTarget;
import io.kvmclock.restore.UnsupportedMethodException;
import io.kvmclock.restore.UnsupportedReason;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.Placement;
import io.kvmclock.time.PvclockTimeInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Live-updates the clock guest {@code trials} times with each method, each time into a fresh VM, and
 * measures what the guest sees. One guest per method, so the methods do not disturb each other; every trial
 * starts from the VM the previous trial restored into, as successive VMM upgrades would.
 */
public final class DemoRunner {

    /** Progress: method name, trial number (1-based), trials. */
    public interface Progress {
        void update(String method, int trial, int trials);
    }

    private final Hypervisor hv;
    private final int trials;
    private final long downtimeNs;
    private final Progress progress;

    public DemoRunner(Hypervisor hv, int trials, long downtimeNs, Progress progress) {
        if (trials < 1) {
            throw new IllegalArgumentException("trials must be at least 1");
        }
        this.hv = hv;
        this.trials = trials;
        this.downtimeNs = downtimeNs;
        this.progress = progress;
    }

    // ---- cross-host migration (an addition for the sim backend; without a peer nothing below changes) ----

    private Optional<Hypervisor> peer = Optional.empty();

    /**
     * Migrates instead of live-updating: trial 1 restores on {@code peer}, trial 2 back on the first host, and
     * so on (e.g. a SimHypervisor.peer with another TSC frequency, on the same time line).
     */
    public DemoRunner withPeer(Hypervisor peer) {
        this.peer = Optional.of(peer);
        return this;
    }

    /** The host the guest runs on before trial {@code trial} (1-based): the first host, then alternating. */
    private Hypervisor hostBefore(int trial) {
        return trial % 2 == 1 ? hv : peer.orElse(hv);
    }

    private Hypervisor hostAfter(int trial) {
        return trial % 2 == 0 ? hv : peer.orElse(hv);
    }

    // ---- end of the cross-host addition ----

    public DemoResult run(List<RestoreMethod> methods) {
        GuestClockSeen seen = GuestClockSeen.look(hv);
        List<MethodResult> results = new ArrayList<>();
        for (RestoreMethod m : methods) {
            results.add(runMethod(m));
        }
        return new DemoResult(hv.backend(), hv.host(), trials, downtimeNs, results, seen);
    }

    public MethodResult runMethod(RestoreMethod m) {
        Optional<UnsupportedReason> why = m.unsupportedReason(hv.capabilities());
        if (why.isPresent()) {
            return new MethodResult.NotRun(m, why.get().describe());
        }
        List<TrialResult> out = new ArrayList<>();
        ClockGuest guest = ClockGuest.boot(hv.createVm(VmConfig.defaults()));
        try {
            guest.readTsc();
            for (int i = 1; i <= trials; i++) {
                progress.update(m.name(), i, trials);
                Outcome o = trial(guest, m, hostBefore(i), hostAfter(i));
                guest = o.guest();
                if (o.result() instanceof TrialResult.Unsupported u) {
                    return new MethodResult.NotRun(m, u.describe());
                }
                out.add(o.result());
                if (peer.isPresent() && o.result() instanceof TrialResult.Failed) {
                    break; // cross-host: the guest stayed on the other host, so the alternation would go wrong
                }
            }
        } finally {
            guest.vm().close();
        }
        return new MethodResult.Ran(m, out);
    }

    private record Outcome(ClockGuest guest, TrialResult result) {}

    private Outcome trial(ClockGuest src, RestoreMethod m, Hypervisor from, Hypervisor hv) {
        // As a VMM does: for a method that prepares, the destination VM, its vCPU and the preparation exist before
        // the source pauses. The others create them after the pause (their vCPUs may need the saved state first).
        Optional<Prepared> p = m.preparesBeforeBlackout() ? Optional.of(prepare(hv, m, VmConfig.defaults())) : Optional.empty();
        // The blackout, from the capture to the guest's first reading after resume, runs at real-time priority
        // for every method alike, as a VMM runs it.
        try (Boost boost = hv.boostCurrentThread()) {
            return blackout(src, m, from, hv, p);
        }
    }

    private Outcome blackout(ClockGuest src, RestoreMethod m, Hypervisor from, Hypervisor hv, Optional<Prepared> p) {
        long tLast = src.readTsc();
        PvclockTimeInfo before = src.readPvclock();
        long kLast = before.read(tLast);
        ClockState saved = ClockCapture.capture(from, src.vm(), List.of(src.vcpu()), v -> src.readPvclock(),
                peer.isPresent() ? CaptureKind.MIGRATION : CaptureKind.LIVE_UPDATE);
        ClockGuest.Snapshot image = src.pause(true);
        if (downtimeNs > 0) {
            hv.elapse(downtimeNs);
        }
        RestoreTarget target;
        if (p.isPresent()) {
            target = p.get().target();
        } else {
            Vm vm = hv.createVm(VmConfig.defaults());
            target = new RestoreTarget(hv, vm, List.of(createVcpu(hv, vm, m, saved)));
        }
        ClockGuest dst = ClockGuest.resume(target.vm(), target.vcpus().getFirst(), image);
        Restored r = restoreAndMeasure(target, m, saved, kLast, dst, peer.isPresent() ? Placement.Kind.MIGRATION : Placement.Kind.SAME_BOOT,
                () -> { });
        TrialResult result = p.map(pp -> r.result().withPreparation(pp.ns(), pp.target().prepared().phases())).orElse(r.result());
        if (!(result instanceof TrialResult.Measured)) {
            dst.vm().close();
            return new Outcome(src, result);
        }
        src.vm().close();
        return new Outcome(dst, result);
    }

    /** A destination made ready before the blackout, and how long that took. */
    public record Prepared(RestoreTarget target, long ns) {}

    /**
     * Creates the destination VM and its vCPU 0 and lets {@code m} prepare on it: what a VMM does before the
     * source pauses. Shared by the demo and the cross-process live update.
     */
    public static Prepared prepare(Hypervisor hv, RestoreMethod m, VmConfig config) {
        long w0 = hv.stopwatchNs();
        Vm vm = hv.createVm(config);
        try {
            RestoreTarget t = m.prepare(new RestoreTarget(hv, vm, List.of(vm.createVcpu(0))));
            return new Prepared(t, hv.stopwatchNs() - w0);
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    /** The destination's vCPU 0, created after what {@code m} does to the VM before its vCPUs exist. */
    public static Vcpu createVcpu(Hypervisor hv, Vm vm, RestoreMethod m, ClockState saved) {
        m.beforeVcpus(hv, vm, saved);
        return vm.createVcpu(0);
    }

    /** A restore's outcome as the guest saw it, and the method's report where the restore returned one. */
    public record Restored(TrialResult result, Optional<RestoreReport> report) {}

    /**
     * Restores {@code saved} into {@code dst} (its vCPU holds the guest's CPU state and has not run), runs the
     * guest and measures what it sees. {@code kLast} is the last kvmclock value the guest read before the
     * pause; {@code where} is where the caller put the guest (the same boot for a live update). Shared by the
     * demo and the cross-process live update.
     */
    public static Restored restoreAndMeasure(Hypervisor hv, RestoreMethod m, ClockState saved, long kLast, ClockGuest dst,
                                             Placement.Kind where) {
        return restoreAndMeasure(hv, m, saved, kLast, dst, where, () -> { });
    }

    /**
     * As above; {@code beforeResume} runs once the restore succeeded and before the guest's first KVM_RUN: the
     * point after which a live update can no longer be rolled back (LiveUpdate.takeOver commits there).
     */
    public static Restored restoreAndMeasure(Hypervisor hv, RestoreMethod m, ClockState saved, long kLast, ClockGuest dst,
                                             Placement.Kind where, Runnable beforeResume) {
        return restoreAndMeasure(new RestoreTarget(hv, dst.vm(), List.of(dst.vcpu())), m, saved, kLast, dst, where, beforeResume);
    }

    /** As above into a target the method may have prepared before the blackout. */
    public static Restored restoreAndMeasure(RestoreTarget target, RestoreMethod m, ClockState saved, long kLast, ClockGuest dst,
                                             Placement.Kind where, Runnable beforeResume) {
        Hypervisor hv = target.hypervisor();
        long w0 = hv.stopwatchNs();
        RestoreReport report;
        try {
            report = m.restore(target, saved);
        } catch (UnsupportedMethodException e) {
            return new Restored(new TrialResult.Unsupported(e.reason()), Optional.empty());
        } catch (RestoreFailedException | HvException e) {
            return new Restored(new TrialResult.Failed(e.getMessage(), (hv.stopwatchNs() - w0) / 1000), Optional.empty());
        }
        long micros = (hv.stopwatchNs() - w0) / 1000;
        // What the TSC policy calls for, fixed at the instant the restore returned (no vCPU has run yet).
        ClockData atRestore = dst.vm().getClock();
        if (atRestore.clock() - kLast < 0) {
            // A call that returned without effect (a dropped KVM_SET_CLOCK) leaves the fresh VM's clock near 0:
            // a VMM must not run the guest on it (docs/faults.md).
            return new Restored(new TrialResult.Failed(m.name() + ": after the restore KVM_GET_CLOCK reads "
                    + Long.toUnsignedString(atRestore.clock()) + " ns, " + (kLast - atRestore.clock())
                    + " ns before the guest's last reading: a KVM_SET_CLOCK or TSC offset write took no effect;"
                    + " not resuming a guest whose clock would go back", micros), Optional.of(report));
        }
        beforeResume.run();

        RestoreMeasurement.Readout o = RestoreMeasurement.measure(hv, m.tscPolicy(), where, saved, kLast, atRestore, dst);
        return new Restored(new TrialResult.Measured(o.kvmclockErrorNs(), o.tscErrorCycles(), o.hostTimeErrorNs(), micros,
                o.steppedBackwards(), o.tscScaled(), TrialResult.Reported.of(report),
                new TrialResult.Timing(0, List.of(), report.phases())), Optional.of(report));
    }
}
