package io.kvmclock.drift;

import io.kvmclock.time.Drift;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.LongConsumer;

/**
 * Which host frequencies make a guest see a step of exactly {@code target} ns (either sign) when KVM takes a
 * new master clock reference some time in [windowStart, windowEnd] seconds after the previous one (the masterclock_sync_period RFC, docs/kvm-clock.md:
 * 4,502,145 ns after "about 40 hours").
 *
 * <p>The criterion is exact at cycle resolution: a frequency matches when some host cycle count c in
 * [windowStart * hz, windowEnd * hz] has |step(c)| == target. The seed's "about 40 hours" was not a whole
 * number of seconds, and the step grows by ~30 ns per second, so a whole-second criterion would keep only
 * about one frequency in thirty by accident of sampling; the count at whole seconds is reported alongside.
 *
 * <p>Why it is fast and exact: from 1 GHz up the raw clock and pvclock each advance by 0 or 1 ns per cycle,
 * so |step| changes by at most 1 per cycle and takes every integer value between its values at the window's
 * ends (a discrete intermediate value theorem). If target lies between |step(start)| and |step(end)| the
 * frequency matches. Otherwise the bound L - 1 < step < L + 2 rules it out unless target is within 2 ns of
 * an end; only those rare frequencies are scanned cycle by cycle over the short stretch where |L| is within
 * 2 ns of the target.
 */
public final class SeedFigure {
    private SeedFigure() {}

    public static final long SEED_TARGET_NS = 4_502_145;
    public static final long SEED_WINDOW_START = 39 * 3600;
    public static final long SEED_WINDOW_END = 41 * 3600;
    /** Below 1 GHz a cycle is longer than 1 ns and the intermediate value argument no longer holds. */
    public static final long MIN_KHZ = 1_000_000;

    /** One matching frequency: the step at the window's ends and the first whole second that hits the target, if any. */
    public record Match(long tscKhz, long stepAtStartNs, long stepAtEndNs, boolean byScan, OptionalLong wholeSecond) {
        public boolean atWholeSecond() {
            return wholeSecond.isPresent();
        }
    }

    public record Result(long fromKhz, long toKhz, long stepKhz, long targetNs, long windowStart, long windowEnd,
                         long frequencies, long matches, long forwardMatches, long wholeSecondMatches,
                         long borderlineScanned, List<Match> listed) {}

    public static Result search(long fromKhz, long toKhz, long stepKhz, long targetNs, long windowStart,
                                long windowEnd, int listLimit, LongConsumer progress) {
        if (fromKhz < MIN_KHZ || toKhz < fromKhz || stepKhz <= 0) {
            throw new IllegalArgumentException("the search needs " + MIN_KHZ + " <= from <= to and step > 0 (kHz); got "
                    + fromKhz + ".." + toKhz + " step " + stepKhz);
        }
        if (windowStart < 0 || windowEnd < windowStart || targetNs <= 0) {
            throw new IllegalArgumentException("need 0 <= window start <= end and a positive target");
        }
        List<Match> listed = new ArrayList<>();
        long n = 0;
        long matches = 0;
        long forward = 0;
        long whole = 0;
        long scanned = 0;
        for (long f = fromKhz; f <= toKhz; f += stepKhz) {
            Check c = check(f, targetNs, windowStart, windowEnd);
            if (c.scanned()) {
                scanned++;
            }
            if (c.match().isPresent()) {
                Match m = c.match().get();
                matches++;
                if (m.stepAtEndNs() > 0) {
                    forward++;
                }
                if (m.atWholeSecond()) {
                    whole++;
                }
                if (listed.size() < listLimit) {
                    listed.add(m);
                }
            }
            if (++n % 65_536 == 0) {
                progress.accept(n);
            }
        }
        progress.accept(n);
        return new Result(fromKhz, toKhz, stepKhz, targetNs, windowStart, windowEnd, n, matches, forward, whole,
                scanned, listed);
    }

    record Check(Optional<Match> match, boolean scanned) {}

    /** The match for one frequency, if it matches, and whether deciding it took a scan. */
    static Check check(long tscKhz, long targetNs, long windowStart, long windowEnd) {
        Drift d = Drift.forTscKhz(tscKhz);
        long cStart = DriftPredictor.cycles(tscKhz, windowStart);
        long cEnd = DriftPredictor.cycles(tscKhz, windowEnd);
        Hit hit = firstHit(d, targetNs, cStart, cEnd);
        if (!hit.found()) {
            return new Check(Optional.empty(), hit.scanned());
        }
        return new Check(Optional.of(new Match(tscKhz, d.stepNs(cStart), d.stepNs(cEnd), hit.scanned(),
                wholeSecond(d, tscKhz, DriftPredictor.rate(d), targetNs, windowStart, windowEnd))), hit.scanned());
    }

    /** How {@link #firstHit} decided one window. */
    sealed interface Hit {
        /** Whether deciding it took a cycle-by-cycle scan. */
        boolean scanned();

        default boolean found() {
            return !(this instanceof Miss);
        }

        /** The target lies between |step| at the window's ends: the intermediate value argument decides it. */
        record Bracketed() implements Hit {
            @Override
            public boolean scanned() {
                return false;
            }
        }

        /** A scan of the near-miss stretch found this cycle count. */
        record ByScan(long cycles) implements Hit {
            @Override
            public boolean scanned() {
                return true;
            }
        }

        /** No cycle count in the window hits the target. */
        record Miss(boolean scanned) implements Hit {}
    }

    /**
     * Whether some c in [cStart, cEnd] has |step(c)| == target, and how that was decided. Valid for
     * tscKhz >= 1 GHz (|step| moves by at most 1 per cycle).
     */
    static Hit firstHit(Drift d, long targetNs, long cStart, long cEnd) {
        long a = Math.abs(d.stepNs(cStart));
        long b = Math.abs(d.stepNs(cEnd));
        if (Math.min(a, b) <= targetNs && targetNs <= Math.max(a, b)) {
            return new Hit.Bracketed();
        }
        BigInteger rate = DriftPredictor.rate(d);
        if (rate.signum() == 0) {
            return new Hit.Miss(false);
        }
        // |L| grows with c; only c with |L(c)| in (target - 2, target + 2) can give |step| == target.
        BigInteger absRate = rate.abs();
        long from = Math.max(cyclesWhereAbsL(absRate, targetNs - 2, false), cStart);
        long to = Math.min(cyclesWhereAbsL(absRate, targetNs + 2, true), cEnd);
        if (from > to) {
            return new Hit.Miss(false);
        }
        for (long c = from; c <= to; c++) {
            if (Math.abs(d.stepNs(c)) == targetNs) {
                return new Hit.ByScan(c);
            }
        }
        return new Hit.Miss(true);
    }

    /** The first whole second in the window whose step is exactly +-target, if there is one. */
    static OptionalLong wholeSecond(Drift d, long tscKhz, BigInteger rate, long targetNs, long windowStart, long windowEnd) {
        if (rate.signum() == 0) {
            return OptionalLong.empty();
        }
        BigInteger perSecond = rate.abs().multiply(BigInteger.valueOf(tscKhz * 1000));
        BigInteger lo = BigInteger.valueOf(targetNs - 2).shiftLeft(64).divide(perSecond);
        BigInteger hi = BigInteger.valueOf(targetNs + 2).shiftLeft(64).divide(perSecond).add(BigInteger.ONE);
        long from = lo.compareTo(BigInteger.valueOf(windowStart)) < 0 ? windowStart : lo.min(BigInteger.valueOf(windowEnd + 1)).longValue();
        long to = hi.compareTo(BigInteger.valueOf(windowEnd)) > 0 ? windowEnd : hi.longValue();
        for (long s = from; s <= to; s++) {
            if (Math.abs(d.stepNs(DriftPredictor.cycles(tscKhz, s))) == targetNs) {
                return OptionalLong.of(s);
            }
        }
        return OptionalLong.empty();
    }

    /** The smallest (ceil) or largest (floor) cycle count c with c * absRate / 2^64 at the given ns. */
    private static long cyclesWhereAbsL(BigInteger absRate, long ns, boolean floor) {
        if (ns <= 0) {
            return 0;
        }
        BigInteger num = BigInteger.valueOf(ns).shiftLeft(64);
        BigInteger[] qr = num.divideAndRemainder(absRate);
        BigInteger c = floor || qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
        return c.bitLength() >= 63 ? Long.MAX_VALUE : c.longValue();
    }
}
