package io.kvmclock.peer.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.time.Units;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The verdict's rule on constructed trials: each clause can fail on its own. */
class VerdictTest {
    private static final long KHZ = 3_000_000; // an explicit model host, not this machine
    private static final long PAUSE_US = 100_000;

    /** kvmclock frozen for the pause less {@code residualNs}; TSC frozen or running. */
    static Observation trial(boolean kvmclockFreezes, boolean tscFreezes, long residualNs, int flags) {
        long pauseNs = PAUSE_US * 1000;
        long kvm = kvmclockFreezes ? -pauseNs + residualNs : residualNs;
        long tsc = tscFreezes ? -Units.nsToCycles(pauseNs, KHZ) : 1234;
        return new Observation(kvm, tsc, kvm, PAUSE_US, OptionalLong.empty(), false, flags);
    }

    static List<Observation> trials(int n, boolean kFreeze, boolean tFreeze, long residualNs, int flags) {
        List<Observation> os = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            os.add(trial(kFreeze, tFreeze, residualNs + i, flags));
        }
        return os;
    }

    @Test
    void theSameBehaviourAgrees() {
        Verdict v = Verdict.of(trials(5, true, false, 300_000, 3), trials(5, true, false, 900_000, 3), KHZ);
        assertTrue(v.agrees(), v.differences().toString());
        assertEquals(DowntimePolicy.FREEZE, v.qemuKvmclock());
        assertEquals(DowntimePolicy.ADVANCE, v.qemuTsc());
        assertEquals(300_002, v.qemuResidualNs());
    }

    @Test
    void aKvmclockThatAdvancesOnOneSideDiffers() {
        Verdict v = Verdict.of(trials(5, true, false, 0, 3), trials(5, false, false, 0, 3), KHZ);
        assertFalse(v.agrees());
        assertEquals(DowntimePolicy.ADVANCE, v.reimplKvmclock());
        assertTrue(v.differences().getFirst().startsWith("kvmclock: QEMU freeze, re-implementation advance"), v.differences().toString());
    }

    @Test
    void aFrozenTscOnOneSideDiffers() {
        Verdict v = Verdict.of(trials(5, true, false, 0, 3), trials(5, true, true, 0, 3), KHZ);
        assertEquals(List.of("TSC: QEMU advance, re-implementation freeze"), v.differences());
    }

    @Test
    void aResidualBeyondTheToleranceDiffers() {
        Verdict v = Verdict.of(trials(5, true, false, 0, 3), trials(5, true, false, Verdict.TOLERANCE_NS + 10, 3), KHZ);
        assertFalse(v.agrees());
        assertTrue(v.differences().getFirst().startsWith("residual kvmclock error"), v.differences().toString());
    }

    @Test
    void differentPvclockFlagsDiffer() {
        Verdict v = Verdict.of(trials(5, true, false, 0, 3), trials(5, true, false, 0, 1), KHZ);
        assertEquals(List.of("pvclock flags after the pause: QEMU 0x3, re-implementation 0x1"), v.differences());
    }
}
