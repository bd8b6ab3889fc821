package io.kvmclock.time;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;

/**
 * How far kvmclock and the host raw clock part over a span of TSC cycles. In master-clock mode the guest
 * reads {@code system_time + pvclock(delta)}; when KVM takes a new reference it re-bases system_time on
 * the raw clock, which advanced {@code raw(delta)} meanwhile. The guest therefore sees a step of
 * {@code raw(delta) - pvclock(delta)} ns at that instant (docs/kvm-clock.md, "Drift"): positive steps the guest forward.
 */
public record Drift(long tscKhz, TimeScale pvclock, Clocksource clocksource) {

    public static Drift forTscKhz(long tscKhz) {
        return new Drift(tscKhz, TimeScale.forGuestKhz(tscKhz), Clocksource.forTscKhz(tscKhz));
    }

    /** The step in ns after {@code cycles} host TSC cycles since the previous reference (no TSC scaling). */
    public long stepNs(long cycles) {
        return clocksource.cyclesToNs(cycles) - pvclock.scaleDelta(cycles);
    }

    /** The step after {@code seconds} at exactly tscKhz (the cycle count is exact: seconds * khz * 1000). */
    public long stepAfterSeconds(long seconds) {
        return stepNs(Math.multiplyExact(Math.multiplyExact(seconds, tscKhz), 1000L));
    }

    /**
     * Raw-clock rate minus kvmclock rate in parts per billion: (mult / 2^shift - mul * 2^pvshift / 2^32)
     * ns per cycle, times tsc_khz * 1000 cycles per second. Exact: every term is a dyadic rational.
     */
    public BigDecimal driftPpb() {
        BigDecimal raw = new BigDecimal(BigInteger.valueOf(clocksource.mult()))
                .divide(new BigDecimal(BigInteger.ONE.shiftLeft(clocksource.shift())));
        int pvExp = 32 - pvclock.shift();
        BigDecimal pv = pvExp >= 0
                ? new BigDecimal(BigInteger.valueOf(pvclock.mul())).divide(new BigDecimal(BigInteger.ONE.shiftLeft(pvExp)))
                : new BigDecimal(BigInteger.valueOf(pvclock.mul()).shiftLeft(-pvExp));
        return raw.subtract(pv).multiply(BigDecimal.valueOf(tscKhz).multiply(BigDecimal.valueOf(1000)),
                MathContext.UNLIMITED);
    }
}
