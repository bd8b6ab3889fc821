package io.kvmclock.time;

/**
 * A clocksource's mult/shift: {@code ns = (cycles * mult) >> shift}. The host raw clock (CLOCK_MONOTONIC_RAW)
 * advances this way; the timekeeper carries the shifted remainder between ticks, so across any span the
 * raw clock advances by the floor of the exact 128-bit product, which is what {@link #cyclesToNs} returns.
 */
public record Clocksource(long mult, int shift) {

    /** __clocksource_update_freq_scale caps the conversion range at 600 s for a 64-bit counter. */
    public static final long TSC_MAXSEC = 600;

    public Clocksource {
        if (mult <= 0 || mult > 0xFFFF_FFFFL || shift < 0 || shift > 32) {
            throw new IllegalArgumentException("clocksource mult " + mult + " shift " + shift + " out of range");
        }
    }

    /**
     * The TSC clocksource registered with tsc_khz: __clocksource_update_freq_scale(cs, 1000, khz) in
     * kernel/time/clocksource.c, i.e. clocks_calc_mult_shift(khz, NSEC_PER_SEC / 1000, 600 * 1000) followed by
     * the loop that halves mult while mult +/- 11 % would overflow 32 bits.
     */
    public static Clocksource forTscKhz(long tscKhz) {
        if (tscKhz <= 0) {
            throw new IllegalArgumentException("tsc_khz must be positive, got " + tscKhz);
        }
        Clocksource cs = calcMultShift(tscKhz, 1_000_000L, TSC_MAXSEC * 1000);
        long mult = cs.mult;
        int shift = cs.shift;
        while (overflowsWithAdjustment(mult)) {
            mult >>>= 1;
            shift--;
        }
        return new Clocksource(mult, shift);
    }

    private static boolean overflowsWithAdjustment(long mult) {
        long maxadj = mult * 11 / 100;
        long up = (mult + maxadj) & 0xFFFF_FFFFL;
        long down = (mult - maxadj) & 0xFFFF_FFFFL;
        return up < mult || down > mult;
    }

    /** clocks_calc_mult_shift(from, to, maxsec) from kernel/time/clocksource.c. */
    public static Clocksource calcMultShift(long from, long to, long maxsec) {
        long tmp = U128.mulShr(maxsec, from, 32);
        int sftacc = 32;
        while (tmp != 0) {
            tmp >>>= 1;
            sftacc--;
        }
        int sft;
        for (sft = 32; sft > 0; sft--) {
            tmp = to << sft;
            tmp += from / 2;
            tmp = Long.divideUnsigned(tmp, from);
            if ((tmp >>> sftacc) == 0) {
                break;
            }
        }
        return new Clocksource(tmp & 0xFFFF_FFFFL, sft);
    }

    /** Raw-clock ns for {@code cycles} TSC cycles, exact floor over a 128-bit product. */
    public long cyclesToNs(long cycles) {
        return U128.mulShr(cycles, mult, shift);
    }
}
