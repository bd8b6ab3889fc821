package io.kvmclock.drift;

import static io.kvmclock.RecordedHosts.INTEL_KHZ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.time.Clocksource;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import org.junit.jupiter.api.Test;

class StepMeasurementTest {

    @Test
    void evaluateReadsBothPvclocksAtTheSameGuestTsc() {
        long khz = SimHostConfig.pvmAmd202611().tscKhz(); // the host of docs/kvm-clock.md's measured step
        TimeScale pv = TimeScale.forGuestKhz(khz);
        Clocksource cs = Clocksource.forTscKhz(khz);
        long dc = 51_923_809_132L;
        long ts1 = 9_000_000_000L;
        long sys1 = 5_000_000_000L;
        PvclockTimeInfo p1 = PvclockTimeInfo.of(2, ts1, sys1, pv, 1);
        PvclockTimeInfo p2 = PvclockTimeInfo.of(4, ts1 + dc, sys1 + cs.cyclesToNs(dc), pv, 1);
        long t = ts1 + dc + 5_000;
        StepMeasurement.Result r = StepMeasurement.evaluate(StepMeasurement.Trigger.TSC_OFFSET, "test", khz, 20, p1, p2,
                t, 0);
        assertTrue(r.newReference());
        assertEquals(dc, r.hostCycles());
        assertEquals(-1536, r.predictedStepNs(), "docs/kvm-clock.md's prediction for this span");
        assertEquals(p2.systemTime() - p1.read(ts1 + dc), r.measuredStepNs(), "the step at the new reference's TSC");
        assertEquals(p2.read(t) - p1.read(t), r.guestReadStepNs());
        assertTrue(Math.abs(r.guestReadStepNs() - r.measuredStepNs()) <= 1, "pvclock rounding only");
        assertTrue(Math.abs(r.differenceNs()) <= 1, "difference " + r.differenceNs());
    }

    @Test
    void noNewReferenceMeansNoPredictedStep() {
        TimeScale pv = TimeScale.forGuestKhz(2_200_000);
        PvclockTimeInfo p = PvclockTimeInfo.of(2, 1_000, 2_000, pv, 1);
        StepMeasurement.Result r = StepMeasurement.evaluate(StepMeasurement.Trigger.HOTPLUG, "test", 2_200_000, 0, p,
                PvclockTimeInfo.of(6, 1_000, 2_000, pv, 1), 99_999_999L, 0);
        assertFalse(r.newReference());
        assertEquals(0, r.predictedStepNs());
        assertEquals(0, r.measuredStepNs());
    }

    private static final long SECOND = 1_000_000_000L;

    @Test
    void tscOffsetTriggerOnTheModelMatchesThePrediction() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 1)) {
            StepMeasurement.Result r = new StepMeasurement(hv).measure(20 * SECOND, StepMeasurement.Trigger.TSC_OFFSET);
            assertTrue(r.newReference());
            assertEquals(0, r.offsetChange(), "offset + 1 and back leaves the guest TSC where it was");
            assertTrue(r.measuredStepNs() < -1_000, "20 s at -59.4 ppb: " + r.measuredStepNs());
            assertTrue(Math.abs(r.differenceNs()) <= 2, "difference " + r.differenceNs());
            assertEquals(DriftPredictor.stepNs(SimHostConfig.pvmIntel202611().tscKhz(), r.hostCycles()), r.predictedStepNs());
        }
    }

    @Test
    void bumpKeepsTheExtraCycleAndAccountsForIt() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.ideal(2_995_200), 2)) {
            StepMeasurement.Result r = new StepMeasurement(hv).measure(1_250 * SECOND,
                    StepMeasurement.Trigger.TSC_OFFSET_BUMP);
            assertEquals(1, r.offsetChange(), "read back from the vCPU");
            assertTrue(r.measuredStepNs() > 100_000, "1250 s at +85.8 ppb: " + r.measuredStepNs());
            assertEquals(r.predictedStepNs(), r.measuredStepNs());
        }
    }

    @Test
    void setClockDiscardsTheDrift() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.ideal(SimHostConfig.pvmAmd202611().tscKhz()), 3)) {
            StepMeasurement.Result r = new StepMeasurement(hv).measure(3_600 * SECOND, StepMeasurement.Trigger.SET_CLOCK);
            assertTrue(r.newReference());
            assertEquals(0, r.predictedStepNs());
            assertTrue(r.driftStepNs() < -270_000, "an hour of drift was there to lose: " + r.driftStepNs());
            assertEquals(0, r.measuredStepNs(), "the model's ideal host has no ioctl latency");
        }
    }

    @Test
    void hotplugStepsOnlyWhereItForcesAReference() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.ideal(SimHostConfig.pvmAmd202611().tscKhz()), 4)) {
            StepMeasurement.Result r = new StepMeasurement(hv).measure(20 * SECOND, StepMeasurement.Trigger.HOTPLUG);
            assertFalse(r.newReference(), "a matching hotplug takes no reference on 6.18");
            assertEquals(0, r.measuredStepNs());
        }
        SimHostConfig old = SimHostConfig.ideal(SimHostConfig.pvmAmd202611().tscKhz()).withHotplugForcesMasterclockUpdate(true);
        try (SimHypervisor hv = SimHypervisor.create(old, 4)) {
            StepMeasurement.Result r = new StepMeasurement(hv).measure(20 * SECOND, StepMeasurement.Trigger.HOTPLUG);
            assertTrue(r.newReference(), "kernels before late 2023 re-reference when the new vCPU first runs");
            assertTrue(r.measuredStepNs() < -1_000);
            assertEquals(r.predictedStepNs(), r.measuredStepNs());
        }
    }

    @Test
    void triggersThatTakeNoReferenceShowNoStep() {
        for (StepMeasurement.Trigger t : new StepMeasurement.Trigger[] {StepMeasurement.Trigger.KVMCLOCK_CTRL,
                StepMeasurement.Trigger.SYSTEM_TIME_MSR}) {
            try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 5)) {
                StepMeasurement.Result r = new StepMeasurement(hv).measure(20 * SECOND, t);
                assertFalse(r.newReference(), t.cliName());
                assertEquals(r.before().tscTimestamp(), r.after().tscTimestamp());
                assertEquals(0, r.measuredStepNs());
                assertEquals(0, r.predictedStepNs());
            }
        }
    }

    @Test
    void progressCoversTheWaitInWholeSecondsAtMostTwoHundredTimes() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.ideal(INTEL_KHZ), 6)) {
            java.util.List<Long> seen = new java.util.ArrayList<>();
            new StepMeasurement(hv).measure(40 * 3_600 * SECOND, StepMeasurement.Trigger.TSC_OFFSET,
                    (done, total) -> seen.add(done));
            assertTrue(seen.size() <= 200, seen.size() + " progress calls");
            assertEquals(40 * 3_600 * SECOND, seen.getLast());
            for (int i = 1; i < seen.size(); i++) {
                assertTrue(seen.get(i) > seen.get(i - 1));
            }
        }
    }

    @Test
    void triggerNamesParseAndGarbageIsRefused() {
        for (StepMeasurement.Trigger t : StepMeasurement.Trigger.values()) {
            assertEquals(t, StepMeasurement.Trigger.parse(t.cliName()));
        }
        assertThrows(IllegalArgumentException.class, () -> StepMeasurement.Trigger.parse("reboot"));
    }
}
