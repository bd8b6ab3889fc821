package io.kvmclock.time;

/**
 * A pvclock multiplier/shift pair: {@code ns = ((delta << shift) * mul) >> 32}, shift negative meaning
 * a right shift. {@code mul} is an unsigned 32-bit value held in a long.
 */
public record TimeScale(long mul, int shift) {

    public static final long NSEC_PER_SEC = 1_000_000_000L;
    private static final long HIGH32 = 0xFFFF_FFFF_0000_0000L;

    public TimeScale {
        if (mul < 0 || mul > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("pvclock mul " + mul + " is not an unsigned 32-bit value");
        }
        if (shift < Byte.MIN_VALUE || shift > Byte.MAX_VALUE) {
            throw new IllegalArgumentException("pvclock shift " + shift + " is not a signed 8-bit value");
        }
    }

    /**
     * kvm_get_time_scale(scaled_hz, base_hz) from arch/x86/kvm/x86.c: the pair that converts ticks of
     * base_hz into ticks of scaled_hz. div_frac is a 64-by-32 divide of {@code scaled << 32}.
     */
    public static TimeScale kvmGetTimeScale(long scaledHz, long baseHz) {
        if (scaledHz == 0 || baseHz == 0) {
            throw new IllegalArgumentException("kvm_get_time_scale needs non-zero frequencies");
        }
        long scaled64 = scaledHz;
        long tps64 = baseHz;
        int shift = 0;
        while (Long.compareUnsigned(tps64, scaled64 * 2) > 0 || (tps64 & HIGH32) != 0) {
            tps64 >>>= 1;
            shift--;
        }
        long tps32 = tps64 & 0xFFFF_FFFFL;
        while (Long.compareUnsigned(tps32, scaled64) <= 0 || (scaled64 & HIGH32) != 0) {
            if ((scaled64 & HIGH32) != 0 || (tps32 & 0x8000_0000L) != 0) {
                scaled64 >>>= 1;
            } else {
                tps32 <<= 1;
            }
            shift++;
        }
        long mul = Long.divideUnsigned((scaled64 & 0xFFFF_FFFFL) << 32, tps32) & 0xFFFF_FFFFL;
        return new TimeScale(mul, shift);
    }

    /** What KVM puts in a guest's pvclock for a guest TSC of {@code tscKhz}: kvm_guest_time_update. */
    public static TimeScale forGuestKhz(long tscKhz) {
        return kvmGetTimeScale(NSEC_PER_SEC, Math.multiplyExact(tscKhz, 1000L));
    }

    /** pvclock_scale_delta (arch/x86/include/asm/pvclock.h). */
    public long scaleDelta(long delta) {
        long d = shift < 0 ? delta >>> -shift : delta << shift;
        return U128.mulShr(d, mul, 32);
    }

    /**
     * hvclock_to_hz from the KVM_SET_CLOCK_GUEST patch (docs/kvm-clock.md, "kvm_get_time_scale"): the TSC frequency this pair encodes.
     * Shift counts use Java's 6-bit masking, which is what x86's SHR/SHL do with the kernel's code.
     */
    public long toHz() {
        if (mul == 0) {
            throw new IllegalArgumentException("pvclock mul 0 encodes no frequency");
        }
        long tm = (NSEC_PER_SEC << 32) << 2;
        int s = shift + 2;
        long m = mul;
        while ((m & 1) == 0) {
            s++;
            m >>>= 1;
        }
        tm = Long.divideUnsigned(tm, m);
        return s > 0 ? tm >>> s : tm << -s;
    }
}
