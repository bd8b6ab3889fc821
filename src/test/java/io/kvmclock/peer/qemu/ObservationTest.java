package io.kvmclock.peer.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.peer.qemu.Firmware.Sample;
import io.kvmclock.peer.qemu.Observation.Timed;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.Units;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Observation's arithmetic on pvclocks built with the project's kvm_get_time_scale, at an explicit 2 GHz. */
class ObservationTest {
    private static final long KHZ = 2_000_000;
    private static final TimeScale SCALE = TimeScale.forGuestKhz(KHZ);

    @Test
    void aFrozenKvmclockOverARunningTscShowsMinusThePause() {
        long pause = 50_000_000;
        long tsc0 = 1_000_000_000;
        PvclockTimeInfo before = PvclockTimeInfo.of(2, tsc0, 7_000_000, SCALE, 1);
        long tsc1 = tsc0 + Units.nsToCycles(pause, KHZ);
        // frozen: the new function starts at tsc1 where the old one stood at tsc0
        PvclockTimeInfo after = PvclockTimeInfo.of(4, tsc1, before.read(tsc0), SCALE, 3);
        Sample last = new Sample(tsc0, before);
        Sample first = new Sample(tsc1, after);
        Observation o = Observation.of(new Timed(10, last), new Timed(10 + pause, first), last, first, KHZ, pause / 1000,
                OptionalLong.of(3));
        assertTrue(Math.abs(o.kvmclockErrorNs() + pause) <= 1, "kvmclock error is minus the pause: " + o);
        assertTrue(Math.abs(o.hostTimeErrorNs() + pause) <= 1, o.toString());
        assertTrue(Math.abs(o.tscErrorCycles()) <= 1, "the TSC kept running: " + o);
        assertFalse(o.steppedBackwards());
        assertEquals(3, o.pvclockFlagsAfter());
    }

    @Test
    void aKvmclockSetBelowTheLastReadingSteppedBackwards() {
        long tsc0 = 5_000_000;
        PvclockTimeInfo before = PvclockTimeInfo.of(2, 0, 9_000_000, SCALE, 1);
        PvclockTimeInfo after = PvclockTimeInfo.of(4, tsc0 + 10, 1_000, SCALE, 1);
        Sample last = new Sample(tsc0, before);
        Sample first = new Sample(tsc0 + 20, after);
        Observation o = Observation.of(new Timed(0, last), new Timed(1000, first), last, first, KHZ, 1, OptionalLong.empty());
        assertTrue(o.steppedBackwards());
        assertTrue(o.kvmclockErrorNs() < 0);
    }

    @Test
    void thePauseIsTheGapAcrossWhichThePvclockChangedNotAnEarlierPreemption() {
        PvclockTimeInfo a = PvclockTimeInfo.of(2, 0, 0, SCALE, 1);
        PvclockTimeInfo b = PvclockTimeInfo.of(4, 900_000_000, 5, SCALE, 3);
        Firmware.Gap preemption = new Firmware.Gap(7, new Sample(100, a), new Sample(9_000_100, a));
        Firmware.Gap pause = new Firmware.Gap(8, new Sample(9_000_200, a), new Sample(900_000_100, b));
        Firmware.Gap later = new Firmware.Gap(9, new Sample(900_000_200, b), new Sample(999_000_000, b));
        assertEquals(pause, QemuScenarios.pauseOf(java.util.List.of(preemption, pause, later)));
        // without a pvclock change (a host that kept the function), the longest gap
        assertEquals(later, QemuScenarios.pauseOf(java.util.List.of(preemption, later)));
    }
}
