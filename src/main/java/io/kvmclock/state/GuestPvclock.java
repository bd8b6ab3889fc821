package io.kvmclock.state;

import io.kvmclock.state.StateFormatException.Reason;
import io.kvmclock.time.PvclockTimeInfo;
import java.util.Objects;

/** A vCPU's kvmclock as the guest sees it: absent if the guest never enabled it, else the structure and its source. */
public sealed interface GuestPvclock {

    /** Where a captured pvclock came from; the code is what the file stores. */
    enum Source {
        /** The proposed KVM_GET_CLOCK_GUEST ioctl (kvm_vcpu_ioctl_get_clock_guest, docs/kvm-clock.md): KVM's own consistent copy. */
        KVM_GET_CLOCK_GUEST(1),
        /** Read from guest memory at the MSR_KVM_SYSTEM_TIME_NEW address, retried until the version was even. */
        GUEST_MEMORY(2);

        private final int code;

        Source(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }
    }

    int code();

    /** The guest had not written MSR_KVM_SYSTEM_TIME_NEW: there is no pvclock to keep. */
    record NotEnabled() implements GuestPvclock {
        @Override
        public int code() {
            return 0;
        }
    }

    /**
     * A pvclock KVM_SET_CLOCK_GUEST would accept (kvm_vcpu_ioctl_set_clock_guest, docs/kvm-clock.md): even version, zero padding, mul non-zero,
     * |shift| at most 32.
     */
    record Captured(PvclockTimeInfo pvclock, Source source) implements GuestPvclock {
        public Captured {
            Objects.requireNonNull(pvclock, "pvclock");
            Objects.requireNonNull(source, "source");
            if (pvclock.mul() == 0) {
                throw new StateFormatException(Reason.PVCLOCK_MUL_ZERO,
                        "pvclock tsc_to_system_mul is 0: it encodes no frequency");
            }
            if (pvclock.shift() < -32 || pvclock.shift() > 32) {
                throw new StateFormatException(Reason.PVCLOCK_SHIFT_OUT_OF_RANGE,
                        "pvclock tsc_shift " + pvclock.shift() + " is outside -32..32");
            }
            if (!pvclock.padsZero()) {
                throw new StateFormatException(Reason.PVCLOCK_PADDING, String.format(
                        "pvclock padding is not zero (pad0 0x%08x, pad 0x%04x)", pvclock.pad0(), pvclock.pad()));
            }
            if ((pvclock.version() & 1) != 0) {
                throw new StateFormatException(Reason.PVCLOCK_TORN, "pvclock version " + pvclock.version()
                        + " is odd: it was copied while KVM was rewriting it");
            }
        }

        @Override
        public int code() {
            return source.code();
        }
    }

    static GuestPvclock of(int code, PvclockTimeInfo raw) {
        return switch (code) {
            case 0 -> {
                if (!java.util.Arrays.equals(raw.encode(), new byte[PvclockTimeInfo.SIZE])) {
                    throw new StateFormatException(Reason.PVCLOCK_PADDING,
                            "pvclock bytes are not zero for a vCPU whose kvmclock was not enabled");
                }
                yield new NotEnabled();
            }
            case 1 -> new Captured(raw, Source.KVM_GET_CLOCK_GUEST);
            case 2 -> new Captured(raw, Source.GUEST_MEMORY);
            default -> throw new StateFormatException(Reason.UNKNOWN_CODE, "pvclock source code " + code
                    + " is unknown (0 not enabled, 1 KVM_GET_CLOCK_GUEST, 2 guest memory)");
        };
    }
}
