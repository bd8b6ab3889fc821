package io.kvmclock.drift;

import io.kvmclock.time.Drift;
import io.kvmclock.time.TimeScale;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.LongConsumer;

/**
 * How often KVM must take a new master clock reference so that no guest ever sees a step larger than a budget.
 * The period is the largest whole number of seconds P such that |step(s)| <= budget for every whole second
 * s in [0, P], and |step(P + 1)| > budget. Found exactly: the bound L - 1 < step < L + 2 from
 * {@link DriftPredictor} confines the first second that breaks the budget to a band of width about
 * 4 / (drift in ns per second) seconds, and every second in that band is evaluated with the exact step.
 */
public final class RefreshPolicy {
    private RefreshPolicy() {}

    public static final long SECONDS_PER_DAY = 86_400;

    /**
     * The answer for one frequency. {@code periodSeconds} is empty when no whole second up to
     * {@code horizonSeconds} breaks the budget (the drift is zero or too small to matter).
     */
    public record Policy(long tscKhz, long maxJumpNs, OptionalLong periodSeconds, long stepAtPeriodNs,
                         long stepAfterPeriodNs, long horizonSeconds, long secondsEvaluated) {

        /** Refreshes a day needed to stay within the budget: ceil(86400 / period); 0 when unbounded. */
        public long refreshesPerDay() {
            if (periodSeconds.isEmpty()) {
                return 0;
            }
            long p = periodSeconds.getAsLong();
            if (p == 0) {
                return Long.MAX_VALUE;
            }
            return (SECONDS_PER_DAY + p - 1) / p;
        }
    }

    /**
     * The longest duration whose cycle count, shifted left by a positive pvclock shift (below 1 GHz), still fits
     * a signed 64-bit value at tscKhz: about 58 years at 5 GHz.
     */
    public static long horizonSeconds(long tscKhz) {
        int left = Math.max(0, TimeScale.forGuestKhz(tscKhz).shift());
        return (Long.MAX_VALUE >> left) / 1000 / tscKhz - 1;
    }

    public static Policy longestPeriod(long tscKhz, long maxJumpNs) {
        if (maxJumpNs < 0) {
            throw new IllegalArgumentException("the step budget must be >= 0 ns, got " + maxJumpNs);
        }
        Drift d = Drift.forTscKhz(tscKhz);
        long horizon = horizonSeconds(tscKhz);
        BigInteger rate = DriftPredictor.rate(d).abs();
        BigInteger cps = BigInteger.valueOf(tscKhz * 1000);
        long from;
        long to;
        if (rate.signum() == 0) {
            from = 0;
            to = -1;
        } else {
            // |L(s)| = s * cps * rate / 2^64. Below (B - 2) every second is within budget; at or above B + 2
            // (strictly: |step| > |L| - 2) every second breaks it.
            BigInteger perSecond = rate.multiply(cps);
            BigInteger lowNum = BigInteger.valueOf(maxJumpNs - 2).shiftLeft(64);
            from = maxJumpNs < 2 ? 0 : clamp(lowNum.divide(perSecond), horizon);
            BigInteger highNum = BigInteger.valueOf(maxJumpNs + 2).shiftLeft(64);
            BigInteger[] qr = highNum.divideAndRemainder(perSecond);
            BigInteger high = qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
            to = clamp(high, horizon);
        }
        long evaluated = 0;
        for (long s = from; s <= to; s++) {
            evaluated++;
            long step = d.stepNs(DriftPredictor.cycles(tscKhz, s));
            if (Math.abs(step) > maxJumpNs) {
                if (s == 0) {
                    return new Policy(tscKhz, maxJumpNs, OptionalLong.of(0), 0, step, horizon, evaluated);
                }
                long before = d.stepNs(DriftPredictor.cycles(tscKhz, s - 1));
                return new Policy(tscKhz, maxJumpNs, OptionalLong.of(s - 1), before, step, horizon, evaluated);
            }
        }
        return new Policy(tscKhz, maxJumpNs, OptionalLong.empty(), 0, 0, horizon, evaluated);
    }

    private static long clamp(BigInteger v, long max) {
        return v.compareTo(BigInteger.valueOf(max)) > 0 ? max : v.longValueExact();
    }

    /** A sweep over frequencies; {@code worst} is the one needing the shortest period (first on ties). */
    public record Sweep(long maxJumpNs, long fromKhz, long toKhz, long stepKhz, List<Policy> policies, Policy worst,
                        Policy best) {}

    /** progress receives the number of frequencies done so far, every few thousand. */
    public static Sweep sweep(long fromKhz, long toKhz, long stepKhz, long maxJumpNs, LongConsumer progress) {
        if (fromKhz <= 0 || toKhz < fromKhz || stepKhz <= 0) {
            throw new IllegalArgumentException("need 0 < from <= to and step > 0; got " + fromKhz + ".." + toKhz
                    + " step " + stepKhz);
        }
        List<Policy> all = new ArrayList<>();
        Policy worst = null;
        Policy best = null;
        long n = 0;
        for (long f = fromKhz; f <= toKhz; f += stepKhz) {
            Policy p = longestPeriod(f, maxJumpNs);
            all.add(p);
            if (worst == null || shorter(p, worst)) {
                worst = p;
            }
            if (best == null || shorter(best, p)) {
                best = p;
            }
            if (++n % 4096 == 0) {
                progress.accept(n);
            }
        }
        progress.accept(n);
        return new Sweep(maxJumpNs, fromKhz, toKhz, stepKhz, all, worst, best);
    }

    private static boolean shorter(Policy a, Policy b) {
        long pa = a.periodSeconds().orElse(Long.MAX_VALUE);
        long pb = b.periodSeconds().orElse(Long.MAX_VALUE);
        return pa < pb;
    }

    /** Approximate drift for display, ns per second rounded. */
    static double nsPerSecond(long tscKhz) {
        return Drift.forTscKhz(tscKhz).driftPpb().setScale(6, RoundingMode.HALF_EVEN).doubleValue();
    }
}
