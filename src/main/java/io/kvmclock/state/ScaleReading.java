package io.kvmclock.state;

import io.kvmclock.hv.TscScale;
import io.kvmclock.state.StateFormatException.Reason;
import java.util.Objects;

/**
 * A vCPU's TSC scaling as the kernel itself reported it with KVM_VCPU_TSC_SCALE (v6 patch 09; format 1.2),
 * beside the TSC rate ({@link VcpuClockState#scaling}) every file carries. Where the kernel could not be asked (6.18, no TSC control,
 * a file older than 1.2) the state says so instead of guessing.
 */
public sealed interface ScaleReading {

    /** The stored code: 0 not read, 1 read from the kernel. */
    int code();

    /** KVM_VCPU_TSC_SCALE was not available (ENXIO), or the file predates format 1.2. */
    record NotRead() implements ScaleReading {
        @Override
        public int code() {
            return 0;
        }
    }

    /** struct kvm_vcpu_tsc_scale as KVM_GET_DEVICE_ATTR returned it. */
    record FromKernel(TscScale scale) implements ScaleReading {
        public FromKernel {
            Objects.requireNonNull(scale, "scale");
        }

        @Override
        public int code() {
            return 1;
        }
    }

    static ScaleReading of(int code, long ratio, long fracBits) {
        return switch (code) {
            case 0 -> {
                if (ratio != 0 || fracBits != 0) {
                    throw new StateFormatException(Reason.BAD_SCALING_RATIO,
                            "KVM_VCPU_TSC_SCALE is marked not read but its fields are not zero");
                }
                yield new NotRead();
            }
            case 1 -> {
                try {
                    yield new FromKernel(new TscScale(ratio, fracBits));
                } catch (IllegalArgumentException e) {
                    throw new StateFormatException(Reason.BAD_SCALING_RATIO, "KVM_VCPU_TSC_SCALE: " + e.getMessage());
                }
            }
            default -> throw new StateFormatException(Reason.UNKNOWN_CODE,
                    "KVM_VCPU_TSC_SCALE code " + code + " is unknown (0 not read, 1 read from the kernel)");
        };
    }

    /** The two u64 fields stored in the file (zero when not read). */
    default long storedRatio() {
        return switch (this) {
            case NotRead n -> 0;
            case FromKernel k -> k.scale().tscRatio();
        };
    }

    default long storedFracBits() {
        return switch (this) {
            case NotRead n -> 0;
            case FromKernel k -> k.scale().tscFracBits();
        };
    }
}
