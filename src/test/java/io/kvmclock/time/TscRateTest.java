package io.kvmclock.time;

import static io.kvmclock.RecordedHosts.AMD_KHZ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@link TscRate} against the kernel's integers, each computed here with BigInteger from the formula it
 * implements: set_tsc_khz's {@code ratio = (1 << frac_bits) * user_khz / host_khz}, kvm_scale_tsc's
 * {@code (tsc * ratio) >> frac_bits}, and kvm_set_tsc_khz's tolerance {@code khz * (1e6 ± 250) / 1e6}.
 */
class TscRateTest {

    private static final long[] HOST_TSCS = {0, 1, AMD_KHZ * 1000, 0x7FFF_FFFF_FFFF_FFFFL, 0xF000_0000_0000_1234L, -1L};

    private static BigInteger u64(long v) {
        return new BigInteger(Long.toUnsignedString(v));
    }

    private static long kernelRatio(int fracBits, long guestKhz, long hostKhz) {
        return BigInteger.ONE.shiftLeft(fracBits).multiply(BigInteger.valueOf(guestKhz))
                .divide(BigInteger.valueOf(hostKhz)).longValueExact();
    }

    /** The low 64 bits of {@code (tsc * ratio) >> fracBits}, as mul_u64_u64_shr returns it. */
    private static long kernelScale(long tsc, long ratio, int fracBits) {
        return u64(tsc).multiply(u64(ratio)).shiftRight(fracBits).longValue();
    }

    private static long adjustKhz(long khz, int ppm) {
        return BigInteger.valueOf(khz).multiply(BigInteger.valueOf(1_000_000L + ppm))
                .divide(BigInteger.valueOf(1_000_000L)).longValueExact();
    }

    @Test
    void scaledIsKvmScaleTscWithTheHardwaresFractionalBits() {
        // VMX: 48 fractional bits, a guest slower than the host; SVM: 32, a guest faster than the host
        record Case(TscScaling hw, int fracBits, long guestKhz) {}
        for (Case c : new Case[] {new Case(TscScaling.VMX, 48, 1_500_000), new Case(TscScaling.SVM, 32, 3_700_000)}) {
            TscRate r = TscRate.of(Optional.of(c.hw()), c.guestKhz(), AMD_KHZ);
            long ratio = kernelRatio(c.fracBits(), c.guestKhz(), AMD_KHZ);
            assertEquals(new TscRate.Scaled(c.hw(), ratio), r);
            assertTrue(r.scaled());
            for (long tsc : HOST_TSCS) {
                assertEquals(kernelScale(tsc, ratio, c.fracBits()), r.scale(tsc),
                        c.hw() + " at host TSC " + Long.toUnsignedString(tsc));
            }
        }
    }

    @Test
    void theToleranceRuleScalesOnlyOutside250Ppm() {
        long lo = adjustKhz(AMD_KHZ, -250);
        long hi = adjustKhz(AMD_KHZ, 250);
        for (TscScaling hw : TscScaling.values()) {
            Optional<TscScaling> h = Optional.of(hw);
            assertEquals(TscRate.UNSCALED, TscRate.of(h, lo, AMD_KHZ), hw + " at the lower edge");
            assertEquals(TscRate.UNSCALED, TscRate.of(h, AMD_KHZ, AMD_KHZ), hw + " at the host rate");
            assertEquals(TscRate.UNSCALED, TscRate.of(h, hi, AMD_KHZ), hw + " at the upper edge");
            assertEquals(new TscRate.Scaled(hw, kernelRatio(hw.fracBits(), lo - 1, AMD_KHZ)),
                    TscRate.of(h, lo - 1, AMD_KHZ), hw + " one kHz below");
            assertEquals(new TscRate.Scaled(hw, kernelRatio(hw.fracBits(), hi + 1, AMD_KHZ)),
                    TscRate.of(h, hi + 1, AMD_KHZ), hw + " one kHz above");
        }
        assertFalse(TscRate.needsScaling(lo, AMD_KHZ));
        assertFalse(TscRate.needsScaling(hi, AMD_KHZ));
        assertTrue(TscRate.needsScaling(lo - 1, AMD_KHZ));
        assertTrue(TscRate.needsScaling(hi + 1, AMD_KHZ));
    }

    @Test
    void withoutHardwareScalingTheRateStaysTheHosts() {
        assertEquals(TscRate.UNSCALED, TscRate.of(Optional.empty(), 1_500_000, AMD_KHZ));
    }

    @Test
    void unscaledIsTheIdentity() {
        for (long tsc : HOST_TSCS) {
            assertEquals(tsc, TscRate.UNSCALED.scale(tsc));
            assertEquals(tsc, new TscRate.Scaled(TscScaling.VMX, TscScaling.VMX.defaultRatio()).scale(tsc));
            assertEquals(tsc, new TscRate.Scaled(TscScaling.SVM, TscScaling.SVM.defaultRatio()).scale(tsc));
        }
        assertFalse(TscRate.UNSCALED.scaled());
    }

    @Test
    void aRatioTheHardwareCannotTakeIsRefused() {
        for (TscScaling hw : TscScaling.values()) {
            assertThrows(IllegalArgumentException.class, () -> new TscRate.Scaled(hw, 0));
            assertThrows(IllegalArgumentException.class, () -> new TscRate.Scaled(hw, hw.maxRatio()));
            assertEquals(hw.maxRatio() - 1, new TscRate.Scaled(hw, hw.maxRatio() - 1).ratio());
        }
        // 256 times the host rate is 1 << 40 on SVM, its SVM_TSC_RATIO_MAX + 1
        assertThrows(IllegalArgumentException.class, () -> TscRate.of(Optional.of(TscScaling.SVM), 256 * 10_000L, 10_000L));
    }

    @Test
    void aKernelReadingNamesItsRate() {
        assertEquals(Optional.of(TscRate.UNSCALED), TscRate.ofKernel(1L << 48, 48));
        assertEquals(Optional.of(TscRate.UNSCALED), TscRate.ofKernel(1L << 32, 32));
        assertEquals(Optional.of(TscRate.UNSCALED), TscRate.ofKernel(1, 0));
        long vmx = kernelRatio(48, 1_500_000, AMD_KHZ);
        assertEquals(Optional.of(new TscRate.Scaled(TscScaling.VMX, vmx)), TscRate.ofKernel(vmx, 48));
        long svm = kernelRatio(32, 1_500_000, AMD_KHZ);
        assertInstanceOf(TscRate.Scaled.class, TscRate.ofKernel(svm, 32).orElseThrow());
        assertEquals(Optional.empty(), TscRate.ofKernel(1L << 40, 32));
        assertEquals(Optional.empty(), TscRate.ofKernel(svm, 40));
    }
}
