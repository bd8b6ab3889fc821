package io.kvmclock.drift;

import io.kvmclock.time.Drift;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * The step a master-clock guest sees when KVM takes a new reference, as an exact function of the host TSC
 * cycles since the previous one (built on {@link Drift#stepNs}). Also the linear part of that function as an
 * exact rational, which the searches use to bound where a value can occur:
 * <pre>
 *   step(c) = floor(c * mult / 2^shift) - pvclock_scale_delta(c)
 *   L(c)    = c * rate / 2^64,   rate = mult * 2^(64 - shift) - mul * 2^(32 + pvshift)
 *   L(c) - 1 < step(c) < L(c) + 2
 * </pre>
 * The bound holds because the raw floor loses less than 1 ns, and pvclock_scale_delta loses less than 1 ns
 * in its product plus less than one shifted-out unit (worth mul / 2^32 < 1 ns) when its shift is negative.
 */
public final class DriftPredictor {
    private DriftPredictor() {}

    /** Guaranteed bounds of step(c) - L(c): strictly greater than LOW, strictly less than HIGH. */
    public static final int ERROR_LOW = -1;
    public static final int ERROR_HIGH = 2;

    /** The step in ns after {@code cycles} host TSC cycles at tscKhz: positive steps the guest forward. */
    public static long stepNs(long tscKhz, long cycles) {
        return Drift.forTscKhz(tscKhz).stepNs(cycles);
    }

    /** Cycles in {@code seconds} at exactly tscKhz; ArithmeticException if that overflows a signed 64-bit count. */
    public static long cycles(long tscKhz, long seconds) {
        return Math.multiplyExact(Math.multiplyExact(seconds, tscKhz), 1000L);
    }

    public static long stepAfterSeconds(long tscKhz, long seconds) {
        return stepNs(tscKhz, cycles(tscKhz, seconds));
    }

    /** The full prediction for a duration, for the CLI and the model to compare against. */
    public static Prediction predict(long tscKhz, long seconds) {
        Drift d = Drift.forTscKhz(tscKhz);
        long c = cycles(tscKhz, seconds);
        return new Prediction(tscKhz, seconds, c, d.stepNs(c), d.driftPpb(), d);
    }

    public record Prediction(long tscKhz, long seconds, long cycles, long stepNs, BigDecimal driftPpb, Drift drift) {
        public Direction direction() {
            return Direction.of(stepNs);
        }
    }

    public enum Direction {
        FORWARD, BACKWARD, NONE;

        public static Direction of(long step) {
            return step > 0 ? FORWARD : step < 0 ? BACKWARD : NONE;
        }
    }

    /** The exact slope of L in units of 2^-64 ns per cycle (may be negative). */
    public static BigInteger rate(Drift d) {
        BigInteger raw = BigInteger.valueOf(d.clocksource().mult()).shiftLeft(64 - d.clocksource().shift());
        BigInteger pv = BigInteger.valueOf(d.pvclock().mul()).shiftLeft(32 + d.pvclock().shift());
        return raw.subtract(pv);
    }

    /** L(c) * 2^64, exact. */
    public static BigInteger linearScaled(BigInteger rate, long cycles) {
        return rate.multiply(BigInteger.valueOf(cycles));
    }
}
