package io.kvmclock.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.MethodResult;
import io.kvmclock.demo.TrialResult;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** precise's preparation before the blackout, its time budget and its breakdown. */
class PreciseBudgetTest {
    private static final DemoRunner.Progress QUIET = (m, i, n) -> { };

    /** A captured, paused source and a destination prepared by {@code m} holding it. */
    private record Ready(ClockState saved, RestoreTarget target) {
        static Ready of(Hypervisor hv, PreciseMethod m) {
            ClockGuest src = ClockGuest.boot(hv.createVm(VmConfig.defaults()));
            src.readTsc();
            DemoRunner.Prepared p = DemoRunner.prepare(hv, m, VmConfig.defaults());
            ClockState saved = ClockCapture.capture(hv, src.vm(), List.of(src.vcpu()), v -> src.readPvclock(),
                    CaptureKind.LIVE_UPDATE);
            ClockGuest.resume(p.target().vm(), p.target().vcpus().getFirst(), src.pause(true));
            src.vm().close();
            return new Ready(saved, p.target());
        }
    }

    @Test
    void atItsBudgetPreciseFailsByDefault() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 31)) {
            PreciseMethod m = new PreciseMethod(DowntimePolicy.ADVANCE, 1, 500, new Budget(1, false));
            Ready r = Ready.of(hv, m);
            RestoreFailedException e = assertThrows(RestoreFailedException.class, () -> m.restore(r.target(), r.saved()));
            assertTrue(e.getMessage().contains("budget of 1 ns was spent after 1"), e.getMessage());
            assertTrue(e.getMessage().contains("--best-effort"), e.getMessage());
        }
    }

    /** The budget is spent after the first round; the landing kept is read a third time, exactly, on the kernel. */
    private static void keepsTheLandingAndReportsItsExactError(Hypervisor hv, long tolerance) {
        PreciseMethod m = new PreciseMethod(DowntimePolicy.ADVANCE, 1, 500, new Budget(1, true));
        Ready r = Ready.of(hv, m);
        RestoreReport rep = m.restore(r.target(), r.saved());
        assertTrue(rep.budgetHit(), rep.toString());
        assertEquals(1, rep.rounds(), "one round, then the budget was spent");
        ClockData now = r.target().vm().getClock();
        long exact = now.clock() - Saved.pvclock(r.saved(), 0).read(now.hostTsc() + r.target().vcpus().getFirst().getTscOffset());
        assertTrue(Math.abs(exact - rep.residualNs().orElseThrow()) <= tolerance, "reported " + rep.residualNs().orElseThrow() + " ns, a third reading says " + exact);
        r.target().vm().close();
    }

    @Tag("kvm")
    @Test
    void withBestEffortItKeepsTheLandingAndReportsItsError() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 37)) {
            // the model's readings of one landing spread by a few ns (its known lean, issue 9.6)
            keepsTheLandingAndReportsItsExactError(hv, 3);
        }
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            keepsTheLandingAndReportsItsExactError(hv, 1);
        }
    }

    @Test
    void theDemoCountsTheTrialsThatHitTheBudget() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 41)) {
            MethodResult.Ran tight = Outcomes.ran(new DemoRunner(hv, 5, 0, QUIET)
                    .runMethod(new PreciseMethod(DowntimePolicy.ADVANCE, 1, 500, new Budget(1, true))));
            assertEquals(0, tight.failures(), tight.trials().toString());
            assertEquals(5, tight.budgetHits(), tight.trials().toString());
            MethodResult.Ran ample = Outcomes.ran(new DemoRunner(hv, 5, 0, QUIET)
                    .runMethod(new PreciseMethod(DowntimePolicy.ADVANCE, 1, 500, new Budget(1_000_000_000L, true))));
            assertEquals(0, ample.budgetHits(), ample.trials().toString());
        }
    }

    @Test
    void theBreakdownSplitsEachRoundAndTheKernelShare() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 43)) {
            MethodResult.Ran r = Outcomes.ran(new DemoRunner(hv, 5, 0, QUIET).runMethod(new PreciseMethod(DowntimePolicy.ADVANCE)));
            for (TrialResult.Measured t : r.ok()) {
                List<Phase> restore = t.timing().restore();
                Phase set = restore.stream().filter(p -> p.name().equals("set")).findFirst().orElseThrow();
                assertEquals(t.rounds(), set.calls(), restore.toString());
                assertTrue(restore.stream().allMatch(p -> p.kernelNs() <= p.wallNs()), restore.toString());
                // served before the blackout; in it again only after an offset write (this host honours them)
                assertTrue(restore.stream().filter(p -> p.name().equals("serve requests")).allMatch(p -> p.calls() == 1), restore.toString());
                assertTrue(t.timing().prepared().stream().anyMatch(p -> p.name().equals("rehearse")), t.timing().toString());
                assertTrue(t.timing().prepareNs() > 0);
            }
        }
    }

    /**
     * On the kernel: prepared before the blackout, the guest reads the function precise measured, within 1 ns
     * in every trial (the entry re-reference that used to add a second ns is served before the restore).
     */
    @Tag("kvm")
    @Test
    void onRealKvmEveryTrialIsWithinOneNanosecond() {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            MethodResult.Ran r = Outcomes.ran(new DemoRunner(hv, 40, 0, QUIET).runMethod(new PreciseMethod(DowntimePolicy.ADVANCE)));
            assertEquals(0, r.failures(), r.trials().toString());
            assertEquals(0, r.fallbacks());
            assertTrue(Arrays.stream(r.kvmclockErrors()).allMatch(a -> Math.abs(a) <= 1), r.trials().toString());
            for (TrialResult.Measured t : r.ok()) {
                Phase set = t.timing().restore().stream().filter(p -> p.name().equals("set")).findFirst().orElseThrow();
                assertTrue(set.kernelNs() > 0 && set.kernelNs() <= set.wallNs(), set.toString());
            }
        }
    }
}
