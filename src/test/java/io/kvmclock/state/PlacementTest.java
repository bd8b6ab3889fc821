package io.kvmclock.state;

import static io.kvmclock.RecordedHosts.AMD_KHZ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.HostInfo;
import io.kvmclock.time.Units;
import org.junit.jupiter.api.Test;

/** Same boot, kexec on the same machine, or migration, from what the destination can see. */
class PlacementTest {
    private static final long KHZ = AMD_KHZ;
    private static final ClockState S = SampleState.create(2, KHZ, KHZ);
    private static final HostClocks AT = S.capture().at();

    private static HostInfo host(String bootId, long khz) {
        return new HostInfo("6.18.44", 12, khz, "tsc", bootId);
    }

    /** The destination's clocks {@code ns} of real time after the capture, its TSC {@code tscNs} later. */
    private static HostClocks after(long ns, long tscNs) {
        return new HostClocks(AT.tsc() + Units.nsToCycles(tscNs, KHZ), 0, AT.realtimeNs() + ns);
    }

    @Test
    void sameBootIdIsTheSameBoot() {
        Placement p = S.placementOn(host(SampleState.BOOT_ID, KHZ), after(1_000_000, 1_000_000));
        assertEquals(Placement.Kind.SAME_BOOT, p.kind());
        assertTrue(p.kind().isLiveUpdate());
        assertTrue(p.why().contains(SampleState.BOOT_ID), p.why());
    }

    @Test
    void sameBootIdWithAnotherTscKhzIsNotTrusted() {
        Placement p = S.placementOn(host(SampleState.BOOT_ID, KHZ + 1), after(1_000_000, 1_000_000));
        assertEquals(Placement.Kind.MIGRATION, p.kind());
        assertTrue(p.why().contains("inconsistent"), p.why());
    }

    @Test
    void kexecKeepsTheTscCountingWithRealTime() {
        long downtime = 7_500_000_000L;
        Placement p = S.placementOn(host("another-boot", KHZ), after(downtime, downtime + 40_000_000));
        assertEquals(Placement.Kind.KEXEC, p.kind(), p.why());
        assertTrue(p.kind().isLiveUpdate());
    }

    @Test
    void kexecToleratesARecalibratedTscKhzWithin1Khz() {
        Placement p = S.placementOn(host("another-boot", KHZ - 1), after(10_000_000_000L, 10_000_000_000L));
        assertEquals(Placement.Kind.KEXEC, p.kind(), p.why());
        Placement two = S.placementOn(host("another-boot", KHZ - 2), after(10_000_000_000L, 10_000_000_000L));
        assertEquals(Placement.Kind.MIGRATION, two.kind(), two.why());
    }

    @Test
    void aHostUpLongerThanTheSourceIsNotAKexec() {
        // Its TSC is past the saved one, but by a day while only a minute of real time passed.
        Placement p = S.placementOn(host("another-boot", KHZ), after(60_000_000_000L, 86_400_000_000_000L));
        assertEquals(Placement.Kind.MIGRATION, p.kind());
        assertTrue(p.why().contains("not the same TSC"), p.why());
    }

    @Test
    void aFreshlyBootedHostIsNotAKexec() {
        HostClocks fresh = new HostClocks(AT.tsc() / 2, 0, AT.realtimeNs() + 60_000_000_000L);
        Placement p = S.placementOn(host("another-boot", KHZ), fresh);
        assertEquals(Placement.Kind.MIGRATION, p.kind());
        assertTrue(p.why().contains("not past"), p.why());
    }

    @Test
    void realtimeBeforeTheCaptureIsAMigration() {
        Placement p = S.placementOn(host("another-boot", KHZ), after(-5_000_000_000L, 1_000_000));
        assertEquals(Placement.Kind.MIGRATION, p.kind());
    }

    @Test
    void unknownBootIdsAreNeverTheSameBoot() {
        ClockState noId = new ClockState(S.format(), S.capture(), host("", KHZ), S.capabilities(), S.clock(), S.vcpus());
        Placement p = noId.placementOn(host("", KHZ), after(1_000_000, 1_000_000));
        assertFalse(p.kind() == Placement.Kind.SAME_BOOT, p.why());
    }

    @Test
    void aTscOverflowingNanosecondsIsAMigration() {
        HostClocks far = new HostClocks(-1L, 0, AT.realtimeNs() + 1);
        ClockState slow = new ClockState(S.format(), S.capture(), host("a", 1_000), S.capabilities(), S.clock(), S.vcpus());
        assertEquals(Placement.Kind.MIGRATION, slow.placementOn(host("b", 1_000), far).kind());
    }
}
