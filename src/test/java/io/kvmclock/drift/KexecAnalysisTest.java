package io.kvmclock.drift;

import static io.kvmclock.RecordedHosts.AMD_KHZ;
import static io.kvmclock.RecordedHosts.INTEL_KHZ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.time.Clocksource;
import io.kvmclock.time.TimeScale;
import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.Test;

class KexecAnalysisTest {

    @Test
    void equalFrequenciesMakeBothChoicesTheSame() {
        KexecAnalysis.Result r = KexecAnalysis.analyse(AMD_KHZ, AMD_KHZ, AMD_KHZ, List.of(0L, 3600L, 86_400L));
        for (KexecAnalysis.Point p : r.points()) {
            assertEquals(p.stepKeepNs(), p.stepTakeNs());
            assertEquals(p.errorKeepNs(), p.errorTakeNs());
            assertEquals(ExactReference.step(AMD_KHZ, p.cycles()), p.stepTakeNs());
        }
    }

    @Test
    void pointsEqualTheFormulasInBigInteger() {
        long oldKhz = AMD_KHZ;
        long newKhz = AMD_KHZ + 1;
        long trueKhz = 2_596_140;
        KexecAnalysis.Result r = KexecAnalysis.analyse(oldKhz, newKhz, trueKhz, List.of(86_400L));
        KexecAnalysis.Point p = r.points().getFirst();
        long c = 86_400L * trueKhz * 1000;
        assertEquals(c, p.cycles());
        Clocksource cs = Clocksource.forTscKhz(newKhz);
        TimeScale oldPv = TimeScale.forGuestKhz(oldKhz);
        TimeScale newPv = TimeScale.forGuestKhz(newKhz);
        BigInteger raw = ExactReference.raw(cs.mult(), cs.shift(), c);
        BigInteger pvOld = ExactReference.pvclock(oldPv.mul(), oldPv.shift(), c);
        BigInteger pvNew = ExactReference.pvclock(newPv.mul(), newPv.shift(), c);
        BigInteger truth = BigInteger.valueOf(c).multiply(BigInteger.valueOf(1_000_000)).divide(BigInteger.valueOf(trueKhz));
        assertEquals(raw.subtract(pvOld).longValueExact(), p.stepKeepNs());
        assertEquals(raw.subtract(pvNew).longValueExact(), p.stepTakeNs());
        assertEquals(pvOld.subtract(truth).longValueExact(), p.errorKeepNs());
        assertEquals(pvNew.subtract(truth).longValueExact(), p.errorTakeNs());
        assertEquals(raw.subtract(truth).longValueExact(), p.rawVsTrueNs());
    }

    @Test
    void aOneKilohertzRecalibrationCostsAboutOneSecondPerTscKhzOnTheKeepSide() {
        // new = old + 1 kHz: the old mul/shift convert each cycle to 1/tsc_khz more ns than the new ones, so after
        // a day of new-rate cycles keeping the old scale puts kvmclock ~86400 s / tsc_khz = 33.28 ms ahead of
        // the raw clock: the step at a refresh is that much more negative (up to the ~0.5 ppb of mul rounding).
        KexecAnalysis.Result r = KexecAnalysis.analyse(AMD_KHZ, AMD_KHZ + 1, AMD_KHZ + 1, List.of(86_400L));
        KexecAnalysis.Point p = r.points().getFirst();
        long extra = p.stepKeepNs() - p.stepTakeNs();
        long ideal = -86_400_000_000_000L / AMD_KHZ;
        assertTrue(extra < 0, "keeping the slower-looking old value makes the guest clock run ahead of raw");
        assertTrue(Math.abs(extra - ideal) < 86_400, "extra " + extra + " ideal " + ideal);
        assertEquals(KexecAnalysis.Choice.TAKE_NEW, r.recommended());
        assertTrue(Math.abs(p.stepTakeNs()) < Math.abs(p.stepKeepNs()));
    }

    @Test
    void aDownwardRecalibrationFlipsTheSignOfTheExtraStep() {
        KexecAnalysis.Result r = KexecAnalysis.analyse(INTEL_KHZ, INTEL_KHZ - 2, INTEL_KHZ - 2, List.of(3_600L));
        KexecAnalysis.Point p = r.points().getFirst();
        assertTrue(p.stepKeepNs() - p.stepTakeNs() > 0);
        assertEquals(KexecAnalysis.Choice.TAKE_NEW, r.recommended());
    }
}
