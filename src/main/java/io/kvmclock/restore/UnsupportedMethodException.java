package io.kvmclock.restore;

/** The method cannot run on this kernel or host (e.g. KVM_SET_CLOCK_GUEST absent). */
public class UnsupportedMethodException extends RuntimeException {
    public UnsupportedMethodException(String message) {
        super(message);
    }
}
