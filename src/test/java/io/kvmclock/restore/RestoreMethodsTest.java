package io.kvmclock.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.MethodResult;
import io.kvmclock.demo.TrialResult;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.GuestMemory;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.HostProbe;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Live updates with the methods that promise continuity, on the model and on real KVM. */
class RestoreMethodsTest {
    private static final DemoRunner.Progress QUIET = (m, i, n) -> { };

    private static Hypervisor kvm() {
        return RealKvm.openOrSkip();
    }

    private static MethodResult run(Hypervisor hv, RestoreMethod m, int trials, long downtimeNs) {
        return new DemoRunner(hv, trials, downtimeNs, QUIET).runMethod(m);
    }

    private static MethodResult.Ran assertNeverBackwards(MethodResult result) {
        MethodResult.Ran r = assertInstanceOf(MethodResult.Ran.class, result, result.name() + ": " + result);
        assertEquals(0, r.failures(), r.name() + " failed: " + r.trials());
        assertEquals(0, r.backwards(), r.name() + " stepped the guest's kvmclock backwards: " + r.trials());
        return r;
    }

    @Test
    void preciseKeepsTheFunctionWithinOneNanosecondOnTheModel() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 7)) {
            MethodResult.Ran r = assertNeverBackwards(run(hv, new PreciseMethod(DowntimePolicy.ADVANCE), 30, 0));
            assertEquals(0, r.fallbacks());
            // the guest reads after the entry's re-reference, as on the kernel: held to the real-KVM promise
            assertWithinOneNanosecond(r);
            assertTrue(Arrays.stream(r.tscErrors()).allMatch(b -> b == 0), "TSC moved: " + r.trials());
        }
    }

    @Tag("kvm")
    @Test
    void preciseOnRealKvm() {
        try (Hypervisor hv = kvm()) {
            MethodResult.Ran r = assertNeverBackwards(run(hv, new PreciseMethod(DowntimePolicy.ADVANCE), 30, 0));
            assertEquals(0, r.fallbacks(), "precise fell back: " + r.trials());
            assertWithinOneNanosecond(r);
        }
    }

    /**
     * The promise is +-1 ns as the guest sees it, in every trial: the master clock update the vCPU's creation
     * filed is served before the blackout (Vcpu.serveRequests), so the first entry no longer re-rounds the
     * function after precise has finished (which used to add a second ns in 2 of 200 trials).
     */
    private static void assertWithinOneNanosecond(MethodResult.Ran r) {
        assertTrue(Arrays.stream(r.kvmclockErrors()).allMatch(v -> Math.abs(v) <= 1), r.trials().toString());
    }

    @Tag("kvm")
    @Test
    void documentedNeverStepsBackwardsOnEitherBackend() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 3)) {
            assertNeverBackwards(run(hv, new DocumentedMethod(), 15, 0));
        }
        try (Hypervisor hv = kvm()) {
            assertNeverBackwards(run(hv, new DocumentedMethod(), 15, 0));
        }
    }

    /**
     * As the guest reads it, clock-guest lands below the saved function by up to two truncations: the kernel
     * floors the saved pvclock at its new reference, and the guest floors again from there where the saved
     * function floors once (pvclock_scale_delta; at shift -1 the dropped cycle adds one more), and the first
     * entry's re-reference on the raw clock adds its own floor of -1..+1 (docs/model.md, "The lean").
     */
    @Test
    void clockGuestAsTheGuestReadsItIsOffByTheTruncationsOnly() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611().withClockGuest(true), 5)) {
            MethodResult.Ran r = assertNeverBackwards(run(hv, new ClockGuestMethod(DowntimePolicy.ADVANCE), 60, 0));
            long[] a = r.kvmclockErrors();
            assertTrue(Arrays.stream(a).allMatch(e -> e >= -3 && e <= 1), r.trials().toString());
            double mean = Arrays.stream(a).average().orElseThrow();
            assertTrue(mean < 0 && mean > -1.5, "leans below by the extra truncation: mean " + mean);
        }
    }

    /**
     * KVM_SET_CLOCK_GUEST makes the kvmclock the saved function exactly at the reference it takes: the
     * pvclock KVM_GET_CLOCK_GUEST returns before any entry has system_time = saved(tsc_timestamp), to the ns.
     */
    @Test
    void clockGuestIsTheSavedFunctionExactlyAtItsReference() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611().withClockGuest(true), 5)) {
            for (int i = 0; i < 15; i++) {
                ClockGuest src = ClockGuest.boot(hv.createVm(VmConfig.defaults()));
                src.readTsc();
                ClockState saved = ClockCapture.capture(hv, src.vm(), List.of(src.vcpu()), v -> src.readPvclock(),
                        CaptureKind.LIVE_UPDATE);
                ClockGuest.Snapshot image = src.pause(true);
                try (Vm vm = hv.createVm(VmConfig.defaults())) {
                    Vcpu v = vm.createVcpu(0);
                    ClockGuest.resume(vm, v, image);
                    new ClockGuestMethod(DowntimePolicy.ADVANCE).restore(new RestoreTarget(hv, vm, List.of(v)), saved);
                    var restored = v.getClockGuest();
                    var savedPv = Saved.pvclock(saved, 0);
                    assertEquals(savedPv.read(restored.tscTimestamp()), restored.systemTime(), "trial " + i);
                    assertEquals(savedPv.scale(), restored.scale());
                } finally {
                    src.vm().close();
                }
            }
        }
    }

    @Test
    void acrossTscFrequenciesClockGuestAndPreciseKeepTheFunction() {
        SimHostConfig home = SimHostConfig.clockGuestHost();
        try (SimHypervisor hv = SimHypervisor.create(home, 23)) {
            Hypervisor other = hv.peerAt(2_995_200);
            // four migrations, 2.1 -> 2.9952 -> 2.1 ... GHz: on the faster host the guest TSC runs scaled
            MethodResult.Ran cg = assertNeverBackwards(new DemoRunner(hv, 4, 0, QUIET).withPeer(other).runMethod(new ClockGuestMethod(DowntimePolicy.ADVANCE)));
            assertEquals(2, cg.scaledTrials());
            for (TrialResult.Measured t : cg.ok()) {
                // the truncations of clockGuestAsTheGuestReadsItIsOffByTheTruncationsOnly
                assertTrue(t.kvmclockErrorNs() >= -3 && t.kvmclockErrorNs() <= 1 && Math.abs(t.tscErrorCycles()) <= 2
                        && Math.abs(t.hostTimeErrorNs()) <= 5, cg.trials().toString());
            }
            MethodResult.Ran p = assertNeverBackwards(new DemoRunner(hv, 4, 0, QUIET).withPeer(other).runMethod(new PreciseMethod(DowntimePolicy.ADVANCE)));
            assertEquals(2, p.scaledTrials());
            for (TrialResult.Measured t : p.ok()) {
                // the first entry's re-reference (assertWithinOneNanosecond) allows 2 here
                assertTrue(Math.abs(t.kvmclockErrorNs()) <= 2 && Math.abs(t.tscErrorCycles()) <= 2, p.trials().toString());
            }
        }
    }

    @Test
    void clockGuestIsReportedUnsupportedWithoutTheIoctl() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 5)) {
            MethodResult r = run(hv, new ClockGuestMethod(DowntimePolicy.ADVANCE), 3, 0);
            MethodResult.NotRun n = assertInstanceOf(MethodResult.NotRun.class, r, r.toString());
            assertTrue(n.why().contains("KVM_SET_CLOCK_GUEST"), n.why());
        }
    }

    @Test
    void freezeKeepsTheFunctionAndHoldsTheTscAcrossTheBlackout() {
        long blackout = 50_000_000;
        // freeze needs TSC offset writes that take effect: kvm_intel, not this machine's kvm_pvm
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 11)) {
            MethodResult.Ran r = assertNeverBackwards(run(hv, new PreciseMethod(DowntimePolicy.FREEZE), 20, blackout));
            assertTrue(Arrays.stream(r.kvmclockErrors()).allMatch(v -> Math.abs(v) <= 3), r.trials().toString());
            // the guest's clock lags host time by (at least) the blackout: it froze
            assertTrue(Arrays.stream(r.hostTimeErrors()).allMatch(c -> c <= -blackout), r.trials().toString());
            // The offsets are written before the SET_CLOCK rounds, so the guest TSC counts from then: it resumes
            // ahead of its frozen value by the restore's own duration plus the one KVM_GET_CLOCK the measurement
            // takes after it (tens of us on this machine's fitted latencies), never behind it.
            long khz = hv.host().tscKhz();
            for (TrialResult.Measured t : r.ok()) {
                assertTrue(t.tscErrorCycles() >= 0 && t.tscErrorCycles() <= (t.restoreMicros() + 50) * khz / 1000,
                        "TSC error " + t.tscErrorCycles() + " cycles over a " + t.restoreMicros() + " us restore");
            }
        }
    }

    @Test
    void preciseFailsLoudlyWhenItsBoundIsUnreachable() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 13)) {
            Setup s = Setup.of(hv);
            // a kernel whose KVM_SET_CLOCK lands 10 ns later on every call than on the call before
            Vm faulty = new DriftingSetClock(s.vm, 10);
            RestoreFailedException e = assertThrows(RestoreFailedException.class, () -> new PreciseMethod(
                    DowntimePolicy.ADVANCE, 1, 40).restore(new RestoreTarget(hv, faulty, List.of(s.vcpu)), s.saved));
            assertTrue(e.getMessage().contains("not reporting success"), e.getMessage());
            assertTrue(e.getMessage().contains("40 KVM_SET_CLOCK rounds"), e.getMessage());
        }
    }

    @Test
    void preciseRefusesOnTheModelOfThisMachineToo() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 19)) {
            Setup s = Setup.of(hv);
            hv.elapse(5_000_000);
            RestoreFailedException e = assertThrows(RestoreFailedException.class, () -> new PreciseMethod(
                    DowntimePolicy.FREEZE).restore(new RestoreTarget(hv, s.vm, List.of(s.vcpu)), s.saved));
            assertTrue(e.getMessage().contains("ignored"), e.getMessage());
        }
    }

    @Tag("kvm")
    @Test
    void preciseRefusesWhenTheKernelIgnoresItsTscOffsetWrite() {
        // kvm_pvm accepts KVM_VCPU_TSC_OFFSET writes and ignores them; freeze needs one. The CI host changes
        // from run to run, so what this one does is probed, not assumed.
        try (Hypervisor hv = kvm()) {
            Assumptions.assumeFalse(HostProbe.run(hv).tscOffsetWritable(),
                    "skipped: this host's KVM honours TSC offset writes, so freeze has what it needs");
            Setup s = Setup.of(hv);
            hv.elapse(5_000_000);
            RestoreFailedException e = assertThrows(RestoreFailedException.class, () -> new PreciseMethod(
                    DowntimePolicy.FREEZE).restore(new RestoreTarget(hv, s.vm, List.of(s.vcpu)), s.saved));
            assertTrue(e.getMessage().contains("ignored"), e.getMessage());
        }
    }

    @Test
    void preciseFallsBackAndSaysSoWithoutAMasterClock() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611().withTscClocksource(false), 17)) {
            Setup s = Setup.of(hv);
            RestoreReport r = new PreciseMethod(DowntimePolicy.ADVANCE)
                    .restore(new RestoreTarget(hv, s.vm, List.of(s.vcpu)), s.saved);
            assertTrue(r.fellBack());
            assertTrue(r.notes().getFirst().contains("no master clock"), r.notes().toString());
        }
    }

    /** A source guest captured and paused, and a fresh destination VM holding it, not yet run. */
    private record Setup(ClockState saved, Vm vm, Vcpu vcpu) {
        static Setup of(Hypervisor hv) {
            ClockGuest src = ClockGuest.boot(hv.createVm(VmConfig.defaults()));
            src.readTsc();
            ClockState saved = ClockCapture.capture(hv, src.vm(), List.of(src.vcpu()), v -> src.readPvclock(),
                    CaptureKind.LIVE_UPDATE);
            ClockGuest.Snapshot snap = src.pause(true);
            Vm vm = hv.createVm(VmConfig.defaults());
            Vcpu vcpu = vm.createVcpu(0);
            ClockGuest.resume(vm, vcpu, snap);
            return new Setup(saved, vm, vcpu);
        }
    }

    /** Fault injection: every KVM_SET_CLOCK lands {@code stepNs} later than the previous one did. */
    private static final class DriftingSetClock implements Vm {
        private final Vm vm;
        private final long stepNs;
        private long calls;

        DriftingSetClock(Vm vm, long stepNs) {
            this.vm = vm;
            this.stepNs = stepNs;
        }

        @Override
        public ClockData getClock() {
            return vm.getClock();
        }

        @Override
        public void setClock(ClockData d) {
            calls++;
            vm.setClock(new ClockData(d.clock() + calls * stepNs, d.flags(), d.realtime(), d.hostTsc()));
        }

        @Override
        public long getTscKhz() {
            return vm.getTscKhz();
        }

        @Override
        public void setTscKhz(long khz) {
            vm.setTscKhz(khz);
        }

        @Override
        public Vcpu createVcpu(int id) {
            return vm.createVcpu(id);
        }

        @Override
        public List<Vcpu> vcpus() {
            return vm.vcpus();
        }

        @Override
        public GuestMemory memory() {
            return vm.memory();
        }

        @Override
        public void close() {
            vm.close();
        }
    }
}
