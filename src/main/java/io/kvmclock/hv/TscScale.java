package io.kvmclock.hv;

import io.kvmclock.time.TscRate;
import java.util.Optional;

/**
 * What KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_SCALE) returns (struct kvm_vcpu_tsc_scale, v6
 * patch 09, docs/v6-series.md): the vCPU's l1 TSC scaling ratio and the hardware's fractional bits, so that
 * {@code guest_tsc = ((host_tsc * tscRatio) >> tscFracBits) + KVM_VCPU_TSC_OFFSET}. Both are u64 values held
 * in longs; an unscaled vCPU reads the ratio 1.0, {@code 1 << tscFracBits}.
 */
public record TscScale(long tscRatio, long tscFracBits) {
    public TscScale {
        if (tscFracBits < 0 || tscFracBits > 63) {
            throw new IllegalArgumentException("tsc_frac_bits " + Long.toUnsignedString(tscFracBits) + " is outside 0..63");
        }
        if (tscRatio == 0) {
            throw new IllegalArgumentException("tsc_ratio is 0: the vCPU's TSC would not count");
        }
    }

    /** The ratio is exactly 1.0: the guest TSC runs at the host rate. */
    public boolean unity() {
        return tscRatio == 1L << tscFracBits;
    }

    /** The rate this reading names, if it names one ({@link TscRate#ofKernel}). */
    public Optional<TscRate> rate() {
        return TscRate.ofKernel(tscRatio, tscFracBits);
    }
}
