package io.kvmclock.drift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * "Predictions equal the model's exactly": the same measurement procedure that runs on real KVM
 * ({@link StepMeasurement}), run on the model for frequencies across 1-5 GHz and waits up to 40 h, gives
 * exactly {@link DriftPredictor}'s step for the cycles between the two references, and those cycles are
 * exactly the wait at the host's frequency (the model's TSC has no jitter and no latency here).
 */
class SimStepExactTest {

    static Stream<Arguments> frequenciesAndWaits() {
        long[] khz = {1_000_000, 2_200_000, 2_600_000, 2_995_200, 3_700_001, 4_999_999};
        long[] seconds = {1, 20, 1_250, 15_600, 144_000};
        List<Arguments> all = new ArrayList<>();
        for (long k : khz) {
            for (long s : seconds) {
                all.add(Arguments.of(k, s));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} kHz after {1} s")
    @MethodSource("frequenciesAndWaits")
    void measuredStepEqualsThePrediction(long khz, long seconds) {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.ideal(khz), khz ^ seconds)) {
            List<Long> progress = new ArrayList<>();
            StepMeasurement.Result r = new StepMeasurement(hv).measure(seconds * 1_000_000_000L,
                    StepMeasurement.Trigger.TSC_OFFSET, (done, total) -> progress.add(done));
            assertTrue(r.newReference(), "a TSC offset write takes a new reference in the model");
            assertEquals(0, r.offsetChange());
            assertEquals(DriftPredictor.cycles(khz, seconds), r.hostCycles(),
                    "cycles between the references = the wait at " + khz + " kHz");
            assertEquals(DriftPredictor.stepAfterSeconds(khz, seconds), r.measuredStepNs());
            assertEquals(r.predictedStepNs(), r.measuredStepNs());
            assertTrue(Math.abs(r.guestReadStepNs() - r.measuredStepNs()) <= 1,
                    "read later by the guest: pvclock rounding only, " + r.guestReadStepNs());
            assertEquals(seconds * 1_000_000_000L, progress.getLast(), "progress reached the whole wait");
        }
    }

    static Stream<Arguments> otherTriggers() {
        List<Arguments> all = new ArrayList<>();
        for (long k : new long[] {1_000_000, 2_600_000, 4_999_999}) {
            for (StepMeasurement.Trigger t : new StepMeasurement.Trigger[] {StepMeasurement.Trigger.TSC_OFFSET_BUMP,
                    StepMeasurement.Trigger.TSC_MSR, StepMeasurement.Trigger.HOTPLUG}) {
                all.add(Arguments.of(k, t));
            }
        }
        return all.stream();
    }

    /** Every trigger that re-bases on the raw clock gives the same exact step (hotplug where it forces a reference). */
    @ParameterizedTest(name = "{1} at {0} kHz after 40 h")
    @MethodSource("otherTriggers")
    void otherTriggersStepExactlyAsPredicted(long khz, StepMeasurement.Trigger trigger) {
        SimHostConfig cfg = SimHostConfig.ideal(khz).withHotplugForcesMasterclockUpdate(true);
        try (SimHypervisor hv = SimHypervisor.create(cfg, khz)) {
            StepMeasurement.Result r = new StepMeasurement(hv).measure(144_000L * 1_000_000_000L, trigger);
            assertTrue(r.newReference(), trigger.cliName() + " took no reference in the model");
            assertEquals(r.driftStepNs(), r.measuredStepNs(), "offset change " + r.offsetChange());
            if (r.offsetChange() == 0) {
                assertEquals(DriftPredictor.stepNs(khz, r.hostCycles()), r.measuredStepNs());
            }
        }
    }
}
