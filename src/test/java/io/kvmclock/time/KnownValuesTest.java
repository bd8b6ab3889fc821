package io.kvmclock.time;

import static io.kvmclock.RecordedHosts.AMD_KHZ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Values read off real kernels (docs/kvm-clock.md), at the recorded host they were read on. */
class KnownValuesTest {

    @Test
    void pvclockScaleOfTheRecordedAmdHostIsWhatKernel618Wrote() {
        TimeScale s = TimeScale.forGuestKhz(AMD_KHZ);
        assertEquals(3_308_735_742L, s.mul());
        assertEquals(-1, s.shift());
        assertEquals(AMD_KHZ * 1000, s.toHz());
    }

    @Test
    void clocksourceOfTheRecordedAmdHost() {
        Clocksource cs = Clocksource.forTscKhz(AMD_KHZ);
        assertEquals(6_462_374L, cs.mult());
        assertEquals(24, cs.shift());
    }

    @Test
    void clocksourceOfThePublished2995MHzHost() {
        Clocksource cs = Clocksource.forTscKhz(2_995_200);
        assertEquals(5_601_368L, cs.mult());
        assertEquals(24, cs.shift());
    }

    @Test
    void lowFrequencyClocksourceHitsTheOverflowGuard() {
        // 1 MHz: clocks_calc_mult_shift gives mult 4194304000 (shift 22), which +11 % overflows u32;
        // the guard in __clocksource_update_freq_scale halves it once.
        Clocksource raw = Clocksource.calcMultShift(1_000, 1_000_000, 600_000);
        assertEquals(4_194_304_000L, raw.mult());
        assertEquals(22, raw.shift());
        Clocksource cs = Clocksource.forTscKhz(1_000);
        assertEquals(2_097_152_000L, cs.mult());
        assertEquals(21, cs.shift());
    }

    @Test
    void stepMeasuredOnThe618HostMatchesThePrediction() {
        // docs/kvm-clock.md, "Drift": 51,923,809,132 cycles between two references on that host; the guest saw
        // -1535 ns, raw - pvclock predicts -1536 ns.
        assertEquals(-1536, Drift.forTscKhz(AMD_KHZ).stepNs(51_923_809_132L));
    }

    @Test
    void publishedStepsOfThe2995MHzHost() {
        // ~107 us after ~1,250 s and ~1.34 ms after ~15,600 s (85.8 ppb).
        Drift d = Drift.forTscKhz(2_995_200);
        long after1250 = d.stepAfterSeconds(1_250);
        long after15600 = d.stepAfterSeconds(15_600);
        assertTrue(after1250 > 100_000 && after1250 < 115_000, "step after 1250 s: " + after1250);
        assertTrue(after15600 > 1_300_000 && after15600 < 1_380_000, "step after 15600 s: " + after15600);
        assertEquals("85.8", d.driftPpb().setScale(1, java.math.RoundingMode.HALF_EVEN).toPlainString());
    }

    @Test
    void thisHostFromTheFactsPageDriftsBackwards() {
        Drift d = Drift.forTscKhz(AMD_KHZ);
        assertEquals("-76.8", d.driftPpb().setScale(1, java.math.RoundingMode.HALF_EVEN).toPlainString());
        assertTrue(d.stepAfterSeconds(86_400) < 0);
    }

    @Test
    void pvclockDecodeReadsEveryField() {
        PvclockTimeInfo p = PvclockTimeInfo.of(4, 0x1122334455667788L, 1_000_000_000L,
                new TimeScale(3_308_735_742L, -1), PvclockTimeInfo.FLAG_TSC_STABLE | PvclockTimeInfo.FLAG_GUEST_STOPPED);
        String hex = p.toHex();
        assertEquals("04000000" + "00000000" + "8877665544332211" + "00ca9a3b00000000" + "fe4c37c5" + "ff" + "03" + "0000", hex);
        assertEquals(p, PvclockTimeInfo.decode(java.util.HexFormat.of().parseHex(hex)));
        assertTrue(p.tscStable());
        assertTrue(p.guestStopped());
    }

    @Test
    void readAddsTheScaledDeltaToSystemTime() {
        PvclockTimeInfo p = PvclockTimeInfo.of(2, 1_000, 5_000, TimeScale.forGuestKhz(AMD_KHZ), 1);
        // tsc_khz cycles at the recorded AMD host's tsc_khz is 1 ms; the truncated mul makes it 1 ns short at most.
        long ns = p.read(1_000 + AMD_KHZ) - 5_000;
        assertTrue(ns == 999_999 || ns == 1_000_000, "1 ms of cycles read as " + ns + " ns");
    }

    @Test
    void recoveredFrequencyLosesTheBitsKvmGetTimeScaleShiftsOut() {
        // 4,000,000,002 Hz is halved twice to 1,000,000,000 (the 2 Hz are gone), then doubled once:
        // mul 2^31, shift -1, which encodes exactly 4 GHz. 2 Hz in 4 GHz is more than one part in 2^31.
        TimeScale s = TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, 4_000_000_002L);
        assertEquals(1L << 31, s.mul());
        assertEquals(-1, s.shift());
        assertEquals(4_000_000_000L, s.toHz());
        assertEquals(8_000_001_520L, TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, 8_000_001_527L).toHz());
    }

    @Test
    void hvclockToHzRejectsMulZero() {
        assertThrows(IllegalArgumentException.class, () -> new TimeScale(0, 0).toHz());
    }

    @Test
    void tscScalingRatioOneLeavesTheTscAlone() {
        for (TscScaling v : TscScaling.values()) {
            long r = v.ratio(AMD_KHZ, AMD_KHZ);
            assertEquals(v.defaultRatio(), r);
            assertEquals(123_456_789_012L, v.scale(123_456_789_012L, r));
        }
        assertEquals(1L << 47, TscScaling.VMX.ratio(1_000_000, 2_000_000));
        assertTrue(TscScaling.needsScaling(2_000_000, AMD_KHZ, TscScaling.TOLERANCE_PPM));
        assertTrue(!TscScaling.needsScaling(AMD_KHZ + 62, AMD_KHZ, TscScaling.TOLERANCE_PPM));
    }

    @Test
    void unitsConvertExactly() {
        assertEquals(AMD_KHZ, Units.nsToCycles(1_000_000, AMD_KHZ));
        assertEquals(1_000_000L, Units.cyclesToNs(AMD_KHZ, AMD_KHZ));
        long kvm = Units.nsToCyclesKvm(1_000_000_000L, AMD_KHZ);
        assertTrue(Math.abs(kvm - AMD_KHZ * 1000) <= 2, "KVM's nsec_to_cycles gave " + kvm);
    }
}
