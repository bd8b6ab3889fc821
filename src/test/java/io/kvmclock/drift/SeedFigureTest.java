package io.kvmclock.drift;

import static io.kvmclock.RecordedHosts.AMD_KHZ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.time.Drift;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SeedFigureTest {

    private static boolean bruteForce(long khz, long target, long cStart, long cEnd) {
        for (long c = cStart; c <= cEnd; c++) {
            if (Math.abs(ExactReference.step(khz, c)) == target) {
                return true;
            }
        }
        return false;
    }

    @Test
    void cycleLevelDecisionAgreesWithBruteForceIncludingNearMisses() {
        SplittableRandom rnd = new SplittableRandom(4_502_145);
        int hits = 0;
        int misses = 0;
        int scans = 0;
        for (int i = 0; i < 60; i++) {
            long khz = rnd.nextLong(SeedFigure.MIN_KHZ, 5_000_001);
            Drift d = Drift.forTscKhz(khz);
            long cStart = rnd.nextLong(1L << 40, 1L << 50);
            long cEnd = cStart + rnd.nextLong(0, 3_000);
            long a = Math.abs(d.stepNs(cStart));
            long b = Math.abs(d.stepNs(cEnd));
            for (long target = Math.min(a, b) - 3; target <= Math.max(a, b) + 3; target++) {
                if (target <= 0) {
                    continue;
                }
                SeedFigure.Hit hit = SeedFigure.firstHit(d, target, cStart, cEnd);
                boolean fast = hit.found();
                assertEquals(bruteForce(khz, target, cStart, cEnd), fast, khz + " kHz target " + target);
                if (fast) {
                    hits++;
                } else {
                    misses++;
                }
                if (hit.scanned()) {
                    scans++;
                }
            }
        }
        assertTrue(hits > 0 && misses > 0 && scans > 0, hits + " hits " + misses + " misses " + scans + " scans");
    }

    @Test
    void searchOverASmallRangeMatchesPerFrequencyBruteForceAtWholeSeconds() {
        // window of 3 whole seconds around 40 h: a frequency's whole-second hit must be one of them
        long from = 2_596_000;
        long to = 2_596_400;
        long start = 144_000;
        long end = 144_002;
        long target = Math.abs(ExactReference.step(AMD_KHZ, 144_001L * AMD_KHZ * 1000));
        SeedFigure.Result r = SeedFigure.search(from, to, 1, target, start, end, 1_000, n -> { });
        assertEquals(to - from + 1, r.frequencies());
        long whole = 0;
        for (long f = from; f <= to; f++) {
            for (long s = start; s <= end; s++) {
                if (Math.abs(ExactReference.step(f, s * f * 1000)) == target) {
                    whole++;
                    break;
                }
            }
        }
        assertTrue(whole >= 1, "the recorded AMD host's tsc_khz hits the target at 144001 s");
        assertEquals(whole, r.wholeSecondMatches());
        assertTrue(r.matches() >= whole);
        for (SeedFigure.Match m : r.listed()) {
            long lo = Math.min(Math.abs(m.stepAtStartNs()), Math.abs(m.stepAtEndNs()));
            long hi = Math.max(Math.abs(m.stepAtStartNs()), Math.abs(m.stepAtEndNs()));
            assertTrue(m.byScan() || (lo <= target && target <= hi), m.toString());
            assertEquals(ExactReference.step(m.tscKhz(), start * m.tscKhz() * 1000), m.stepAtStartNs());
        }
        assertEquals(r.matches(), r.listed().size());
    }

    @Test
    void everyListedSeedMatchBracketsTheTarget() {
        SeedFigure.Result r = SeedFigure.search(2_590_000, 2_600_000, 1, SeedFigure.SEED_TARGET_NS,
                SeedFigure.SEED_WINDOW_START, SeedFigure.SEED_WINDOW_END, Integer.MAX_VALUE, n -> { });
        assertTrue(r.matches() > 0);
        assertEquals(r.matches(), r.listed().size());
        for (SeedFigure.Match m : r.listed()) {
            if (!m.byScan()) {
                long lo = Math.min(Math.abs(m.stepAtStartNs()), Math.abs(m.stepAtEndNs()));
                long hi = Math.max(Math.abs(m.stepAtStartNs()), Math.abs(m.stepAtEndNs()));
                assertTrue(lo <= SeedFigure.SEED_TARGET_NS && SeedFigure.SEED_TARGET_NS <= hi, m.toString());
            }
            if (m.atWholeSecond()) {
                assertEquals(SeedFigure.SEED_TARGET_NS,
                        Math.abs(ExactReference.step(m.tscKhz(), m.wholeSecond().getAsLong() * m.tscKhz() * 1000)));
            }
        }
    }
}
