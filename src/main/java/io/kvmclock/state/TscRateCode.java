package io.kvmclock.state;

import io.kvmclock.state.StateFormatException.Reason;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.TscScaling;

/**
 * How the state file stores a vCPU's {@link TscRate}: a code (0 none, 1 VMX, 2 SVM) and a u64 ratio, 0 when
 * unscaled, else non-zero and below the hardware's maximum.
 */
final class TscRateCode {
    private TscRateCode() {}

    static int code(TscRate r) {
        return switch (r) {
            case TscRate.Unscaled u -> 0;
            case TscRate.Scaled s -> switch (s.scaling()) {
                case VMX -> 1;
                case SVM -> 2;
            };
        };
    }

    static long storedRatio(TscRate r) {
        return switch (r) {
            case TscRate.Unscaled u -> 0;
            case TscRate.Scaled s -> s.ratio();
        };
    }

    static TscRate decode(int code, long ratio) {
        return switch (code) {
            case 0 -> {
                if (ratio != 0) {
                    throw new StateFormatException(Reason.BAD_SCALING_RATIO,
                            "TSC scaling is none but the ratio field is 0x" + Long.toHexString(ratio) + " (must be 0)");
                }
                yield TscRate.UNSCALED;
            }
            case 1 -> scaled(TscScaling.VMX, ratio);
            case 2 -> scaled(TscScaling.SVM, ratio);
            default -> throw new StateFormatException(Reason.UNKNOWN_CODE,
                    "TSC scaling code " + code + " is unknown (0 none, 1 VMX, 2 SVM)");
        };
    }

    private static TscRate scaled(TscScaling s, long ratio) {
        if (!s.accepts(ratio)) {
            throw new StateFormatException(Reason.BAD_SCALING_RATIO, "TSC scaling ratio 0x" + Long.toHexString(ratio)
                    + " is not possible on " + s + " (non-zero, below 0x" + Long.toHexString(s.maxRatio()) + ")");
        }
        return new TscRate.Scaled(s, ratio);
    }
}
