package io.kvmclock.time;

import java.util.Objects;
import java.util.Optional;

/**
 * How a vCPU's TSC follows the host's: {@code guest_tsc = scale(host_tsc) + offset} (kvm_read_l1_tsc).
 * Unscaled, the guest TSC runs at the host rate: the hardware has no scaling, or kvm_set_tsc_khz left
 * l1_tsc_scaling_ratio at 1.0 because the rate is within tsc_tolerance_ppm. Scaled, kvm_scale_tsc multiplies
 * by a ratio in the hardware's format ({@link TscScaling}).
 */
public sealed interface TscRate {

    TscRate UNSCALED = new Unscaled();

    /** The guest TSC at host TSC {@code hostTsc} (both u64 in longs) before the offset is added. */
    long scale(long hostTsc);

    /** Whether the guest TSC runs at a rate other than the host's. */
    default boolean scaled() {
        return this instanceof Scaled;
    }

    record Unscaled() implements TscRate {
        @Override
        public long scale(long hostTsc) {
            return hostTsc;
        }
    }

    /** {@code ratio} is a u64 held in a long that the hardware accepts ({@link TscScaling#accepts}). */
    record Scaled(TscScaling scaling, long ratio) implements TscRate {
        public Scaled {
            Objects.requireNonNull(scaling, "scaling");
            if (!scaling.accepts(ratio)) {
                throw new IllegalArgumentException("TSC scaling ratio 0x" + Long.toHexString(ratio) + " is not possible on "
                        + scaling + " (non-zero, below 0x" + Long.toHexString(scaling.maxRatio()) + ")");
            }
        }

        @Override
        public long scale(long hostTsc) {
            return scaling.scale(hostTsc, ratio);
        }
    }

    /**
     * The rate KVM gives a vCPU set to {@code guestKhz} on a host at {@code hostKhz} with {@code hardware}
     * scaling: kvm_set_tsc_khz scales only outside tsc_tolerance_ppm, with set_tsc_khz's ratio
     * ({@link TscScaling#ratio}, which refuses a ratio the hardware cannot take). Without hardware scaling the
     * vCPU stays unscaled.
     */
    static TscRate of(Optional<TscScaling> hardware, long guestKhz, long hostKhz) {
        if (hardware.isEmpty() || !needsScaling(guestKhz, hostKhz)) {
            return UNSCALED;
        }
        return new Scaled(hardware.get(), hardware.get().ratio(guestKhz, hostKhz));
    }

    /** kvm_set_tsc_khz's rule: a guest rate outside the default tsc_tolerance_ppm of the host's needs scaling. */
    static boolean needsScaling(long guestKhz, long hostKhz) {
        return TscScaling.needsScaling(guestKhz, hostKhz, TscScaling.TOLERANCE_PPM);
    }

    /**
     * The rate a KVM_VCPU_TSC_SCALE reading names: unscaled at the ratio 1.0 ({@code 1 << fracBits}), else
     * the hardware whose fractional bits it reports (48 VMX, 32 SVM) when that hardware accepts the ratio;
     * empty for a reading that names neither.
     */
    static Optional<TscRate> ofKernel(long ratio, long fracBits) {
        if (fracBits >= 0 && fracBits < 64 && ratio == 1L << fracBits) {
            return Optional.of(UNSCALED);
        }
        for (TscScaling s : TscScaling.values()) {
            if (s.fracBits() == fracBits && s.accepts(ratio)) {
                return Optional.of(new Scaled(s, ratio));
            }
        }
        return Optional.empty();
    }
}
