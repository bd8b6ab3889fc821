package io.kvmclock.drift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.time.Drift;
import java.math.BigInteger;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DriftPredictorTest {

    @Test
    void predictionsEqualAnIndependentBigIntegerComputation() {
        SplittableRandom rnd = new SplittableRandom(4_502_145);
        for (int i = 0; i < 20_000; i++) {
            long khz = rnd.nextLong(1_000, 10_000_001);
            long seconds = rnd.nextLong(0, 90L * 86_400);
            long cycles = seconds * khz * 1000;
            long expected = ExactReference.step(khz, cycles);
            assertEquals(expected, DriftPredictor.stepNs(khz, cycles), khz + " kHz, " + seconds + " s");
            assertEquals(expected, DriftPredictor.stepAfterSeconds(khz, seconds));
            assertEquals(expected, DriftPredictor.predict(khz, seconds).stepNs());
        }
    }

    @Test
    void theLinearPartBoundsTheStep() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 20_000; i++) {
            long khz = rnd.nextLong(1_000, 10_000_001);
            Drift d = Drift.forTscKhz(khz);
            // below 1 GHz the pvclock shift is positive and delta << shift must not wrap (it never does within
            // RefreshPolicy.horizonSeconds)
            long cycles = rnd.nextLong(0, 1L << (62 - Math.max(0, d.pvclock().shift())));
            BigInteger scaled = BigInteger.valueOf(d.stepNs(cycles)).shiftLeft(64);
            BigInteger l = DriftPredictor.linearScaled(DriftPredictor.rate(d), cycles);
            BigInteger diff = scaled.subtract(l);
            assertTrue(diff.compareTo(BigInteger.valueOf(DriftPredictor.ERROR_LOW).shiftLeft(64)) > 0,
                    khz + " kHz, " + cycles + " cycles: step - L <= -1");
            assertTrue(diff.compareTo(BigInteger.valueOf(DriftPredictor.ERROR_HIGH).shiftLeft(64)) < 0,
                    khz + " kHz, " + cycles + " cycles: step - L >= 2");
        }
    }

    @Test
    void fromOneGigahertzTheStepMovesAtMostOneNanosecondPerCycle() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int i = 0; i < 2_000; i++) {
            long khz = rnd.nextLong(SeedFigure.MIN_KHZ, 5_000_001);
            Drift d = Drift.forTscKhz(khz);
            long c = rnd.nextLong(0, 1L << 50);
            long prev = d.stepNs(c);
            for (int k = 1; k <= 64; k++) {
                long next = d.stepNs(c + k);
                assertTrue(Math.abs(next - prev) <= 1, khz + " kHz at " + (c + k));
                prev = next;
            }
        }
    }

    @Test
    void directionFollowsTheSign() {
        assertEquals(DriftPredictor.Direction.BACKWARD, DriftPredictor.predict(2_600_000, 144_000).direction());
        assertEquals(DriftPredictor.Direction.FORWARD, DriftPredictor.predict(2_995_200, 1_250).direction());
        assertEquals(DriftPredictor.Direction.NONE, DriftPredictor.predict(2_600_000, 0).direction());
    }

    @Test
    void overflowingCycleCountsAreRefused() {
        assertThrows(ArithmeticException.class, () -> DriftPredictor.cycles(5_000_000, Long.MAX_VALUE / 1000));
    }
}
