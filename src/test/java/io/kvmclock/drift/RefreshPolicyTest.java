package io.kvmclock.drift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RefreshPolicyTest {

    @Test
    void periodIsWithinBudgetAndOneSecondMoreIsNot() {
        SplittableRandom rnd = new SplittableRandom(1000);
        for (int i = 0; i < 300; i++) {
            long khz = rnd.nextLong(1_000_001, 5_000_001);
            long budget = rnd.nextLong(0, 5_000_000);
            RefreshPolicy.Policy p = RefreshPolicy.longestPeriod(khz, budget);
            if (p.periodSeconds().isEmpty()) {
                continue;
            }
            long period = p.periodSeconds().getAsLong();
            assertTrue(Math.abs(ExactReference.step(khz, period * khz * 1000)) <= budget, khz + " kHz " + budget);
            assertTrue(Math.abs(ExactReference.step(khz, (period + 1) * khz * 1000)) > budget, khz + " kHz " + budget);
            assertEquals(ExactReference.step(khz, period * khz * 1000), p.stepAtPeriodNs());
            assertEquals(ExactReference.step(khz, (period + 1) * khz * 1000), p.stepAfterPeriodNs());
        }
    }

    @Test
    void everyWholeSecondUpToThePeriodIsWithinBudget() {
        SplittableRandom rnd = new SplittableRandom(2);
        for (int i = 0; i < 40; i++) {
            long khz = rnd.nextLong(1_000_001, 5_000_001);
            long budget = rnd.nextLong(0, 20_000);
            RefreshPolicy.Policy p = RefreshPolicy.longestPeriod(khz, budget);
            long period = p.periodSeconds().orElseThrow();
            for (long s = 0; s <= period; s++) {
                assertTrue(Math.abs(ExactReference.step(khz, s * khz * 1000)) <= budget, khz + " kHz at " + s + " s");
            }
        }
    }

    @Test
    void refreshesPerDayRoundUp() {
        RefreshPolicy.Policy p = RefreshPolicy.longestPeriod(2_600_000, 1000);
        long period = p.periodSeconds().orElseThrow();
        assertEquals((86_400 + period - 1) / period, p.refreshesPerDay());
        assertTrue(p.refreshesPerDay() * period >= 86_400);
    }

    @Test
    void zeroDriftIsUnbounded() {
        // at exactly 1 GHz both conversions are 1 ns per cycle
        RefreshPolicy.Policy p = RefreshPolicy.longestPeriod(1_000_000, 0);
        assertTrue(p.periodSeconds().isEmpty());
        assertEquals(0, p.refreshesPerDay());
    }

    @Test
    void sweepNamesTheShortestPeriodAsWorst() {
        RefreshPolicy.Sweep s = RefreshPolicy.sweep(2_590_000, 2_600_000, 1_000, 100_000, n -> { });
        assertEquals(11, s.policies().size());
        long worst = s.worst().periodSeconds().orElseThrow();
        for (RefreshPolicy.Policy p : s.policies()) {
            assertTrue(p.periodSeconds().orElse(Long.MAX_VALUE) >= worst);
            assertEquals(RefreshPolicy.longestPeriod(p.tscKhz(), 100_000), p);
        }
    }
}
