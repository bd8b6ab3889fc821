package io.kvmclock.restore;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.TrialResult;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.FaultInjector;
import io.kvmclock.hv.FaultInjector.Call;
import io.kvmclock.hv.FaultInjector.Fault;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.Placement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * Every call of every restore method, faulted one at a time through the hv seam (FaultInjector over the
 * model): EINTR, EAGAIN, EIO, and a setter that returns but takes no effect, at its first and its last
 * occurrence. Whatever happens, the guest's kvmclock is never set backwards, a failure names the call, and
 * precise never reports a success it did not verify (docs/faults.md).
 */
@Tag("slow")
class RestoreFaultsTest {

    private static final List<Fault> FAULTS = List.of(new Fault.Fails(Errno.EINTR), new Fault.Fails(Errno.EAGAIN),
            new Fault.Fails(Errno.EIO), new Fault.NoEffect());

    /** What one restore under one fault did, through the path the demo and live-update take. */
    record Outcome(TrialResult result, Optional<RestoreReport> report, long exactErrorNs, List<Call> seen) {}

    /**
     * A method's host: clock-guest needs KVM_SET_CLOCK_GUEST, the v6 algorithm its v6 host, the others get
     * kvm_intel (TSC writes honoured).
     */
    private static SimHostConfig hostFor(RestoreMethod m) {
        return switch (m) {
            case ClockGuestMethod c -> SimHostConfig.clockGuestHost();
            case DocumentedV6Method v -> SimHostConfig.v6Host();
            default -> SimHostConfig.kvmIntel();
        };
    }

    /** A backend to run on: the model (a fresh host per run, so every run is the same) or real KVM. */
    interface Backend {
        Hypervisor open(RestoreMethod m);
    }

    static final Backend MODEL = m -> SimHypervisor.create(hostFor(m), 3);

    static final Backend KVM = m -> RealKvm.openOrSkip();

    static Outcome once(Backend backend, RestoreMethod m, Optional<FaultInjector.Rule> rule) {
        try (Hypervisor sim = backend.open(m)) {
            FaultInjector faults = new FaultInjector(rule);
            Hypervisor hv = faults.wrap(sim);
            ClockGuest src = ClockGuest.boot(sim.createVm(VmConfig.defaults()));
            src.readTsc();
            sim.elapse(5_000_000);
            long t = src.readTsc();
            long kLast = src.readPvclock().read(t);
            ClockState saved = ClockCapture.capture(sim, src.vm(), List.of(src.vcpu()), v -> src.readPvclock(),
                    CaptureKind.LIVE_UPDATE);
            ClockGuest.Snapshot image = src.pause(true);
            src.vm().close();
            sim.elapse(1_000_000);
            Vm vm = hv.createVm(VmConfig.defaults());
            faults.arm(true); // what the method does before the vCPUs exist is part of its restore
            Vcpu vcpu = DemoRunner.createVcpu(hv, vm, m, saved);
            faults.arm(false);
            ClockGuest dst = ClockGuest.resume(vm, vcpu, image);
            long[] exact = {Long.MIN_VALUE};
            faults.arm(true);
            try {
                DemoRunner.Restored r = DemoRunner.restoreAndMeasure(hv, m, saved, kLast, dst, Placement.Kind.SAME_BOOT, () -> {
                    faults.arm(false);
                    // The exact error precise checks (same host, no scaling): KVM_GET_CLOCK against the saved function.
                    ClockData c = vm.getClock();
                    exact[0] = c.clock() - Saved.pvclock(saved, 0).read(c.hostTsc() + dst.vcpu().getTscOffset());
                });
                return new Outcome(r.result(), r.report(), exact[0], faults.seen());
            } catch (HvException e) {
                // a call the measurement itself makes, faulted: the error still names it
                return new Outcome(new TrialResult.Failed(e.getMessage(), 0), Optional.empty(), exact[0], faults.seen());
            } finally {
                faults.arm(false);
                vm.close();
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> everyCallOfEveryMethodUnderEveryFaultOnTheModel() {
        return matrix(MODEL);
    }

    @Tag("kvm")
    @TestFactory
    Stream<DynamicTest> everyCallOfEveryMethodUnderEveryFaultOnRealKvm() {
        return matrix(KVM);
    }

    private static Stream<DynamicTest> matrix(Backend backend) {
        List<DynamicTest> tests = new ArrayList<>();
        // all() makes each method anew, precise with its own GapEstimator, as byName does
        for (RestoreMethod m : RestoreMethods.all()) {
            try (Hypervisor probe = backend.open(m)) {
                if (m.unsupportedReason(probe.capabilities()).isPresent()) {
                    continue;
                }
            }
            Outcome clean = once(backend, m, Optional.empty());
            assertTrue(clean.result() instanceof TrialResult.Measured, m.name() + " restores without faults: " + clean.result());
            Set<String> points = new LinkedHashSet<>();
            for (Call c : new LinkedHashSet<>(clean.seen())) {
                int count = (int) clean.seen().stream().filter(c::equals).count();
                for (int occurrence : new LinkedHashSet<>(List.of(1, count))) {
                    for (Fault f : FAULTS) {
                        if (f instanceof Fault.NoEffect && !c.sets()) {
                            continue;
                        }
                        FaultInjector.Rule rule = new FaultInjector.Rule(c, occurrence, f);
                        if (points.add(rule.toString())) {
                            tests.add(DynamicTest.dynamicTest(m.name() + ": " + c.ioctl() + " #" + occurrence + " " + f,
                                    () -> check(backend, m, clean, rule)));
                        }
                    }
                }
            }
        }
        assertTrue(tests.size() > 40, "the matrix covers the calls: " + tests.size());
        return tests.stream();
    }

    private static void check(Backend backend, RestoreMethod m, Outcome clean, FaultInjector.Rule rule) {
        Outcome o = once(backend, m, Optional.of(rule));
        if (o.result() instanceof TrialResult.Failed f) {
            if (rule.fault() instanceof Fault.Fails) {
                assertTrue(f.why().contains(rule.call().ioctl()), "the error names the call: " + f.why());
            } else {
                assertTrue(f.why().contains("KVM_"), "the error names a call: " + f.why());
            }
            return;
        }
        TrialResult.Measured t = Outcomes.measured(o.result());
        if (!Outcomes.measured(clean.result()).steppedBackwards()) {
            assertFalse(t.steppedBackwards(), "the guest's kvmclock was set backwards under " + rule + ": " + t);
        }
        RestoreReport r = o.report().orElseThrow();
        if (m instanceof PreciseMethod p && !r.fellBack()) {
            assertTrue(Math.abs(o.exactErrorNs()) <= p.boundNs(), "precise reported success at " + o.exactErrorNs()
                    + " ns off the saved function under " + rule);
        }
    }
}
