package io.kvmclock.time;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * The Java arithmetic against the independent C reference over 1 MHz - 10 GHz and random deltas, and the
 * identities the arithmetic must keep.
 */
class ClockArithmeticProperties {
    private static final long MIN_HZ = 1_000_000L;
    private static final long MAX_HZ = 10_000_000_000L;

    @Property(tries = 3000)
    @AddLifecycleHook(CReference.RequiresGcc.class)
    void timeScaleMatchesC(@ForAll @LongRange(min = MIN_HZ, max = MAX_HZ) long hz) {
        TimeScale j = TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, hz);
        long[] c = CReference.get().signedPair("ts 1000000000 " + hz);
        assertEquals(c[0], j.mul(), "mul for " + hz + " Hz");
        assertEquals(c[1], j.shift(), "shift for " + hz + " Hz");
        // the other direction, KVM's nsec_to_cycles scale
        TimeScale back = TimeScale.kvmGetTimeScale(hz, TimeScale.NSEC_PER_SEC);
        long[] cb = CReference.get().signedPair("ts " + hz + " 1000000000");
        assertEquals(cb[0], back.mul());
        assertEquals(cb[1], back.shift());
    }

    @Property(tries = 3000)
    @AddLifecycleHook(CReference.RequiresGcc.class)
    void scaleDeltaMatchesC(@ForAll long delta, @ForAll @LongRange(min = 0, max = 0xFFFF_FFFFL) long mul,
                            @ForAll @IntRange(min = -32, max = 32) int shift) {
        long j = new TimeScale(mul, shift).scaleDelta(delta);
        long c = CReference.get().longs("sd " + Long.toUnsignedString(delta) + " " + mul + " " + shift)[0];
        assertEquals(c, j);
    }

    @Property(tries = 3000)
    @AddLifecycleHook(CReference.RequiresGcc.class)
    void hvclockToHzMatchesC(@ForAll @LongRange(min = 1, max = 0xFFFF_FFFFL) long mul,
                             @ForAll @IntRange(min = -32, max = 32) int shift) {
        int s = shift + 2 + Long.numberOfTrailingZeros(mul);
        Assume.that(s > -64 && s < 64); // C leaves shifts of 64 or more undefined
        long c = CReference.get().longs("hz " + mul + " " + shift)[0];
        assertEquals(c, new TimeScale(mul, shift).toHz());
    }

    @Property(tries = 3000)
    @AddLifecycleHook(CReference.RequiresGcc.class)
    void clocksourceMatchesC(@ForAll @LongRange(min = 1_000, max = 10_000_000) long khz, @ForAll long cycles) {
        Clocksource j = Clocksource.forTscKhz(khz);
        long[] c = CReference.get().signedPair("cs " + khz);
        assertEquals(c[0], j.mult(), "mult for " + khz + " kHz");
        assertEquals(c[1], j.shift(), "shift for " + khz + " kHz");
        long cn = CReference.get().longs("cyc " + Long.toUnsignedString(cycles) + " " + j.mult() + " " + j.shift())[0];
        assertEquals(cn, j.cyclesToNs(cycles));
    }

    @Property(tries = 2000)
    @AddLifecycleHook(CReference.RequiresGcc.class)
    void tscScalingMatchesC(@ForAll @LongRange(min = 1_000, max = 10_000_000) long userKhz,
                            @ForAll @LongRange(min = 1_000, max = 10_000_000) long hostKhz,
                            @ForAll long tsc) {
        for (TscScaling v : TscScaling.values()) {
            long c = CReference.get().longs("ratio " + userKhz + " " + hostKhz + " " + v.fracBits())[0];
            long ratio;
            try {
                ratio = v.ratio(userKhz, hostKhz);
            } catch (IllegalArgumentException e) {
                assertTrue(c == 0 || Long.compareUnsigned(c, v.maxRatio()) >= 0, "refused a ratio the hardware takes: " + c);
                continue;
            }
            assertEquals(c, ratio);
            long cs = CReference.get().longs("scale " + Long.toUnsignedString(tsc) + " " + Long.toUnsignedString(ratio)
                    + " " + v.fracBits())[0];
            assertEquals(cs, v.scale(tsc, ratio));
        }
    }

    @Property(tries = 2000)
    @AddLifecycleHook(CReference.RequiresGcc.class)
    void pvclockReadMatchesC(@ForAll long tscTimestamp, @ForAll long systemTime,
                             @ForAll @LongRange(min = MIN_HZ, max = MAX_HZ) long hz, @ForAll long tsc) {
        PvclockTimeInfo p = PvclockTimeInfo.of(2, tscTimestamp, systemTime,
                TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, hz), PvclockTimeInfo.FLAG_TSC_STABLE);
        long c = CReference.get().longs("read " + p.toHex() + " " + Long.toUnsignedString(tsc))[0];
        assertEquals(c, p.read(tsc));
    }

    @Property(tries = 2000)
    void codecRoundTrip(@ForAll @LongRange(min = 0, max = 0xFFFF_FFFFL) long version,
                        @ForAll @LongRange(min = 0, max = 0xFFFF_FFFFL) long pad0,
                        @ForAll long tsc, @ForAll long sys,
                        @ForAll @LongRange(min = 0, max = 0xFFFF_FFFFL) long mul,
                        @ForAll @IntRange(min = -128, max = 127) int shift,
                        @ForAll @IntRange(min = 0, max = 255) int flags,
                        @ForAll @IntRange(min = 0, max = 0xFFFF) int pad) {
        PvclockTimeInfo p = new PvclockTimeInfo(version, pad0, tsc, sys, mul, shift, flags, pad);
        byte[] bytes = p.encode();
        assertEquals(PvclockTimeInfo.SIZE, bytes.length);
        assertEquals(p, PvclockTimeInfo.decode(bytes));
        assertArrayEquals(bytes, PvclockTimeInfo.decode(bytes).encode());
    }

    /**
     * The issue asked for one part in 2^31; the kernel's arithmetic does not give that (see
     * KnownValuesTest#recoveredFrequencyLosesTheBitsKvmGetTimeScaleShiftsOut). kvm_get_time_scale halves the
     * frequency k times until it is at most 2e9, dropping up to 2^k - 1 Hz, and k <= 3 below 10 GHz: so at most
     * 7 Hz in 8 GHz, 2^-30.09; the truncation of mul errs the other way. One part in 2^30 holds.
     */
    @Property(tries = 5000)
    void recoveredFrequencyWithinOnePartIn2To30(@ForAll @LongRange(min = MIN_HZ, max = MAX_HZ) long hz) {
        long recovered = TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, hz).toHz();
        BigInteger err = BigInteger.valueOf(recovered - hz).abs().shiftLeft(30);
        assertTrue(err.compareTo(BigInteger.valueOf(hz)) <= 0,
                hz + " Hz recovered as " + recovered + " Hz: more than one part in 2^30 off");
    }

    @Property(tries = 3000)
    void scaleIsMonotonicInDelta(@ForAll @LongRange(min = MIN_HZ, max = MAX_HZ) long hz,
                                 @ForAll @LongRange(min = 0, max = 1L << 52) long a,
                                 @ForAll @LongRange(min = 0, max = 1L << 52) long b) {
        TimeScale s = TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, hz);
        long lo = Math.min(a, b);
        long hi = Math.max(a, b);
        assertTrue(Long.compareUnsigned(s.scaleDelta(lo), s.scaleDelta(hi)) <= 0,
                "scale(" + lo + ") > scale(" + hi + ") at " + hz + " Hz");
    }

    @Property(tries = 2000)
    void scaleAgreesWithExactRational(@ForAll @LongRange(min = MIN_HZ, max = MAX_HZ) long hz,
                                      @ForAll @LongRange(min = 0, max = 1L << 50) long delta) {
        TimeScale s = TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, hz);
        BigInteger shifted = s.shift() < 0 ? BigInteger.valueOf(delta >>> -s.shift())
                : BigInteger.valueOf(delta).shiftLeft(s.shift());
        BigInteger exact = shifted.multiply(BigInteger.valueOf(s.mul())).shiftRight(32);
        assertEquals(exact.longValueExact(), s.scaleDelta(delta));
    }
}
