package io.kvmclock.drift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.time.Clocksource;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import org.junit.jupiter.api.Test;

class StepMeasurementTest {

    @Test
    void evaluateReadsBothPvclocksAtTheSameGuestTsc() {
        long khz = 2_596_138;
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
        assertEquals(-1536, r.predictedStepNs(), "facts §4's prediction for this span");
        assertEquals(p2.systemTime() - p1.read(ts1 + dc), r.measuredStepNs(), "the step at the new reference's TSC");
        assertEquals(p2.read(t) - p1.read(t), r.guestReadStepNs());
        assertTrue(Math.abs(r.guestReadStepNs() - r.measuredStepNs()) <= 1, "pvclock rounding only");
        assertTrue(Math.abs(r.differenceNs()) <= 1, "difference " + r.differenceNs());
    }

    @Test
    void noNewReferenceMeansNoPredictedStep() {
        TimeScale pv = TimeScale.forGuestKhz(2_100_000);
        PvclockTimeInfo p = PvclockTimeInfo.of(2, 1_000, 2_000, pv, 1);
        StepMeasurement.Result r = StepMeasurement.evaluate(StepMeasurement.Trigger.HOTPLUG, "test", 2_100_000, 0, p,
                PvclockTimeInfo.of(6, 1_000, 2_000, pv, 1), 99_999_999L, 0);
        assertFalse(r.newReference());
        assertEquals(0, r.predictedStepNs());
        assertEquals(0, r.measuredStepNs());
    }

    @Test
    void tscOffsetTriggerOnTheFakeMatchesThePrediction() {
        FakeKvm kvm = new FakeKvm(2_596_138, false);
        StepMeasurement.Result r = new StepMeasurement(kvm).measure(20_000_000_000L, StepMeasurement.Trigger.TSC_OFFSET);
        assertTrue(r.newReference());
        assertEquals(0, r.offsetChange());
        assertTrue(r.measuredStepNs() < -1_000, "20 s at -76.8 ppb: " + r.measuredStepNs());
        assertTrue(Math.abs(r.differenceNs()) <= 2, "difference " + r.differenceNs());
        assertEquals(DriftPredictor.stepNs(2_596_138, r.hostCycles()), r.predictedStepNs());
        assertTrue(kvm.calls.contains("setTscOffset 1") && kvm.calls.contains("setTscOffset -1"), kvm.calls.toString());
    }

    @Test
    void bumpKeepsTheExtraCycleAndAccountsForIt() {
        FakeKvm kvm = new FakeKvm(2_995_200, false);
        StepMeasurement.Result r = new StepMeasurement(kvm).measure(1_250_000_000_000L,
                StepMeasurement.Trigger.TSC_OFFSET_BUMP);
        assertEquals(1, r.offsetChange());
        assertTrue(r.measuredStepNs() > 100_000, "1250 s at +85.8 ppb: " + r.measuredStepNs());
        assertTrue(Math.abs(r.differenceNs()) <= 2, "difference " + r.differenceNs());
    }

    @Test
    void setClockDiscardsTheDrift() {
        FakeKvm kvm = new FakeKvm(2_596_138, false);
        StepMeasurement.Result r = new StepMeasurement(kvm).measure(3_600_000_000_000L, StepMeasurement.Trigger.SET_CLOCK);
        assertTrue(r.newReference());
        assertEquals(0, r.predictedStepNs());
        assertTrue(r.driftStepNs() < -270_000, "an hour of drift was there to lose: " + r.driftStepNs());
        assertTrue(Math.abs(r.measuredStepNs()) <= 2, "fake KVM_SET_CLOCK has no latency: " + r.measuredStepNs());
    }

    @Test
    void hotplugWithoutAReferenceShowsNoStep() {
        StepMeasurement.Result r = new StepMeasurement(new FakeKvm(2_596_138, false)).measure(20_000_000_000L,
                StepMeasurement.Trigger.HOTPLUG);
        assertFalse(r.newReference());
        assertEquals(0, r.measuredStepNs());
        StepMeasurement.Result r2 = new StepMeasurement(new FakeKvm(2_596_138, true)).measure(20_000_000_000L,
                StepMeasurement.Trigger.HOTPLUG);
        assertTrue(r2.newReference(), "the fake takes the reference when the new vCPU first runs");
        assertTrue(r2.measuredStepNs() < -1_000);
        assertTrue(Math.abs(r2.differenceNs()) <= 2, "difference " + r2.differenceNs());
    }

    @Test
    void triggerNamesParseAndGarbageIsRefused() {
        for (StepMeasurement.Trigger t : StepMeasurement.Trigger.values()) {
            assertEquals(t, StepMeasurement.Trigger.parse(t.cliName()));
        }
        assertThrows(IllegalArgumentException.class, () -> StepMeasurement.Trigger.parse("reboot"));
    }
}
