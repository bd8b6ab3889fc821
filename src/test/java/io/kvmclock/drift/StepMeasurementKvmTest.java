package io.kvmclock.drift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.hv.Hypervisor;
import io.kvmclock.kvm.RealKvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The measurement on this machine's real KVM, with a short wait to keep the suite quick (the >= 20 s figure
 * is `kvmclock drift --measure 20s`). Skips with the reason where /dev/kvm cannot be opened.
 */
@Tag("kvm")
@Tag("slow")
class StepMeasurementKvmTest {

    private static final long WAIT_NS = 3_000_000_000L;

    @Test
    void tscOffsetWriteStepsTheGuestByThePredictionWithinTwoNs() {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            StepMeasurement.Result r = new StepMeasurement(hv).measure(WAIT_NS, StepMeasurement.Trigger.TSC_OFFSET);
            System.out.printf("real KVM, tsc-offset after 3 s: %d cycles, measured %d ns, predicted %d ns%n",
                    r.hostCycles(), r.measuredStepNs(), r.predictedStepNs());
            assertTrue(r.newReference(), "the offset write took no new master clock reference: " + r.after());
            assertTrue(r.after().tscStable(), "KVM left master-clock mode");
            assertTrue(r.hostCycles() > 0, "the second reference is later than the first");
            assertEquals(DriftPredictor.stepNs(r.tscKhz(), r.hostCycles()), r.predictedStepNs());
            assertTrue(Math.abs(r.differenceNs()) <= 2, "measured " + r.measuredStepNs() + " ns, predicted "
                    + r.predictedStepNs() + " ns");
            assertTrue(Math.abs(r.guestReadStepNs() - r.measuredStepNs()) <= 1, "the guest's own read agrees");
        }
    }

    @Test
    void hotplugEitherTakesNoReferenceOrStepsAsPredicted() {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            StepMeasurement.Result r = new StepMeasurement(hv).measure(0, StepMeasurement.Trigger.HOTPLUG);
            if (r.newReference()) {
                assertTrue(Math.abs(r.differenceNs()) <= 2, "measured " + r.measuredStepNs() + ", predicted "
                        + r.predictedStepNs());
            } else {
                assertEquals(0, r.measuredStepNs(), "same reference, same function");
                assertEquals(r.before().tscTimestamp(), r.after().tscTimestamp());
            }
        }
    }
}
