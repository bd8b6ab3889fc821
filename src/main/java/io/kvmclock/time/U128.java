package io.kvmclock.time;

import java.math.BigInteger;

/**
 * Unsigned 64-bit helpers with 128-bit intermediates, the Java spelling of the kernel's
 * mul_u64_u32_shr / mul_u64_u64_shr / mul_u64_u32_div (include/linux/math64.h).
 */
public final class U128 {
    private U128() {}

    /** {@code (a * b) >> shift} over the full 128-bit product, a and b unsigned, 0 <= shift <= 64. */
    public static long mulShr(long a, long b, int shift) {
        long lo = a * b;
        long hi = Math.unsignedMultiplyHigh(a, b);
        if (shift == 0) {
            return lo;
        }
        if (shift == 64) {
            return hi;
        }
        return (lo >>> shift) | (hi << (64 - shift));
    }

    /** {@code floor(a * b / divisor)} over the full 128-bit product; the result must fit in 64 bits. */
    public static long mulDiv(long a, long b, long divisor) {
        if (divisor == 0) {
            throw new ArithmeticException("division by zero");
        }
        long hi = Math.unsignedMultiplyHigh(a, b);
        long lo = a * b;
        if (hi == 0) {
            return Long.divideUnsigned(lo, divisor);
        }
        BigInteger q = toBig(hi).shiftLeft(64).or(toBig(lo)).divide(toBig(divisor));
        if (q.bitLength() > 64) {
            throw new ArithmeticException("quotient exceeds 64 bits");
        }
        return q.longValue();
    }

    /** The 128-bit product of two unsigned longs as a BigInteger (for exact reporting, not hot paths). */
    public static BigInteger product(long a, long b) {
        return toBig(Math.unsignedMultiplyHigh(a, b)).shiftLeft(64).or(toBig(a * b));
    }

    public static BigInteger toBig(long unsigned) {
        BigInteger v = BigInteger.valueOf(unsigned & Long.MAX_VALUE);
        return unsigned < 0 ? v.setBit(63) : v;
    }
}
