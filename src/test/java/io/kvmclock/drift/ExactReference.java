package io.kvmclock.drift;

import io.kvmclock.time.Clocksource;
import io.kvmclock.time.TimeScale;
import java.math.BigInteger;

/** The step computed a second way, in BigInteger, straight from the kernel's formulas (no U128, no Drift). */
final class ExactReference {
    private ExactReference() {}

    static BigInteger raw(long mult, int shift, long cycles) {
        return BigInteger.valueOf(cycles).multiply(BigInteger.valueOf(mult)).shiftRight(shift);
    }

    static BigInteger pvclock(long mul, int shift, long cycles) {
        BigInteger d = BigInteger.valueOf(cycles);
        d = shift < 0 ? d.shiftRight(-shift) : d.shiftLeft(shift);
        return d.multiply(BigInteger.valueOf(mul)).shiftRight(32);
    }

    static long step(long tscKhz, long cycles) {
        Clocksource cs = Clocksource.forTscKhz(tscKhz);
        TimeScale pv = TimeScale.forGuestKhz(tscKhz);
        return raw(cs.mult(), cs.shift(), cycles).subtract(pvclock(pv.mul(), pv.shift(), cycles)).longValueExact();
    }
}
