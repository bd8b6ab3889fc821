package io.kvmclock.restore;

/** The method cannot run on this kernel or host (e.g. KVM_SET_CLOCK_GUEST absent). */
public class UnsupportedMethodException extends RuntimeException {
    private final UnsupportedReason reason;

    public UnsupportedMethodException(UnsupportedReason reason) {
        super(reason.describe());
        this.reason = reason;
    }

    public UnsupportedReason reason() {
        return reason;
    }
}
