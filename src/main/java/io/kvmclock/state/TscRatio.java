package io.kvmclock.state;

import io.kvmclock.state.StateFormatException.Reason;
import io.kvmclock.time.TscScaling;
import java.util.Objects;

/**
 * A vCPU's TSC scaling: either none (the guest TSC runs at the host rate, because the hardware has no
 * scaling or KVM left the ratio at 1.0 inside tsc_tolerance_ppm), or a hardware ratio with its fractional
 * bits (VMX 48, SVM 32): guest_tsc = ((host_tsc * ratio) >> fracBits) + offset.
 */
public sealed interface TscRatio {

    /** The code stored in the file. */
    int code();

    record None() implements TscRatio {
        @Override
        public int code() {
            return 0;
        }
    }

    /** {@code ratio} is a u64 held in a long; it is non-zero and below the hardware's maximum. */
    record Hardware(TscScaling scaling, long ratio) implements TscRatio {
        public Hardware {
            Objects.requireNonNull(scaling, "scaling");
            if (ratio == 0 || Long.compareUnsigned(ratio, scaling.maxRatio()) >= 0) {
                throw new StateFormatException(Reason.BAD_SCALING_RATIO, "TSC scaling ratio 0x"
                        + Long.toHexString(ratio) + " is not possible on " + scaling + " (non-zero, below 0x"
                        + Long.toHexString(scaling.maxRatio()) + ")");
            }
        }

        public int fracBits() {
            return scaling.fracBits();
        }

        @Override
        public int code() {
            return switch (scaling) {
                case VMX -> 1;
                case SVM -> 2;
            };
        }
    }

    static TscRatio of(int code, long ratio) {
        return switch (code) {
            case 0 -> {
                if (ratio != 0) {
                    throw new StateFormatException(Reason.BAD_SCALING_RATIO,
                            "TSC scaling is none but the ratio field is 0x" + Long.toHexString(ratio) + " (must be 0)");
                }
                yield new None();
            }
            case 1 -> new Hardware(TscScaling.VMX, ratio);
            case 2 -> new Hardware(TscScaling.SVM, ratio);
            default -> throw new StateFormatException(Reason.UNKNOWN_CODE,
                    "TSC scaling code " + code + " is unknown (0 none, 1 VMX, 2 SVM)");
        };
    }

    /** The u64 stored in the file: the ratio, or 0 for none. */
    default long storedRatio() {
        return switch (this) {
            case None n -> 0;
            case Hardware h -> h.ratio();
        };
    }

    /**
     * The scaling a KVM_VCPU_TSC_SCALE reading says: none at the ratio 1.0, else the hardware whose fractional
     * bits it reports (48 VMX, 32 SVM). {@code otherwise} is kept for a reading that names neither.
     */
    static TscRatio ofKernel(io.kvmclock.hv.TscScale k, TscRatio otherwise) {
        if (k.unity()) {
            return new None();
        }
        for (TscScaling s : TscScaling.values()) {
            if (s.fracBits() == k.tscFracBits() && Long.compareUnsigned(k.tscRatio(), s.maxRatio()) < 0) {
                return new Hardware(s, k.tscRatio());
            }
        }
        return otherwise;
    }
}
