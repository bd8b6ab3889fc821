package io.kvmclock.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.MethodResult;
import io.kvmclock.demo.TrialResult;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo's outcomes as types: a method not run says why, a failed trial says why, a measured one what was noted. */
class OutcomesTest {
    private static final DemoRunner.Progress QUIET = (m, i, n) -> { };

    @Test
    void aMethodTheHostCannotRunIsNotRunWithItsReasonAndNoTrials() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 3)) {
            MethodResult r = new DemoRunner(hv, 3, 0, QUIET).runMethod(new ClockGuestMethod(DowntimePolicy.ADVANCE));
            MethodResult.NotRun n = assertInstanceOf(MethodResult.NotRun.class, r, r.toString());
            assertEquals("unsupported on this kernel: no KVM_SET_CLOCK_GUEST", n.why());
            assertEquals("clock-guest", n.name());
        }
    }

    /** qemu cannot scale the guest's TSC on a kernel without TSC control: its restore says so on the first migration. */
    @Test
    void aMethodWhoseRestoreSaysUnsupportedIsNotRun() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 5)) {
            MethodResult r = new DemoRunner(hv, 3, 0, QUIET).withPeer(hv.peerAt(2_995_200)).runMethod(new QemuMethod());
            MethodResult.NotRun n = assertInstanceOf(MethodResult.NotRun.class, r, r.toString());
            assertTrue(n.why().startsWith("unsupported: the guest's TSC runs at "), n.why());
            assertTrue(n.why().contains("no KVM_CAP_TSC_CONTROL"), n.why());
        }
    }

    @Test
    void aFailedTrialKeepsItsReasonAndIsCountedApartFromTheMeasuredOnes() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 7)) {
            PreciseMethod m = new PreciseMethod(DowntimePolicy.ADVANCE, 1, 500, new Budget(1, false));
            MethodResult.Ran r = Outcomes.ran(new DemoRunner(hv, 2, 0, QUIET).runMethod(m));
            assertEquals(2, r.trials().size());
            assertEquals(2, r.failures());
            assertEquals(List.of(), r.ok());
            for (TrialResult t : r.trials()) {
                TrialResult.Failed f = assertInstanceOf(TrialResult.Failed.class, t, t.toString());
                assertTrue(f.why().contains("budget of 1 ns was spent"), f.why());
                assertTrue(f.restoreMicros() >= 0, f.toString());
            }
            // distinct reasons: each names how far off the landing was, so two trials may give two
            assertTrue(!r.failureReasons().isEmpty() && r.failureReasons().size() <= 2, r.failureReasons().toString());
            assertTrue(r.failureReasons().stream().allMatch(why -> why.contains("budget of 1 ns was spent")), r.failureReasons().toString());
            assertEquals(0, r.kvmclockErrors().length);
            assertEquals(0.0, r.shareWithin(1));
        }
    }

    @Test
    void aMeasuredTrialCarriesWhatTheMethodNoted() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 9)) {
            MethodResult.Ran r = Outcomes.ran(new DemoRunner(hv, 3, 0, QUIET).runMethod(new DocumentedV6Method()));
            assertEquals(3, r.ok().size());
            for (TrialResult.Measured t : r.ok()) {
                assertTrue(t.fellBack(), t.toString());
                assertTrue(t.notes().stream().anyMatch(n -> n.startsWith("KVM_SET_CLOCK_GUEST is missing on this kernel")), t.notes().toString());
                assertEquals(1, t.rounds());
            }
            assertEquals(3, r.fallbacks());
            assertTrue(r.notes().values().stream().allMatch(n -> n == 3), r.notes().toString());
        }
    }
}
