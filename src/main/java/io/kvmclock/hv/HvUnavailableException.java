package io.kvmclock.hv;

/** The backend cannot be used on this machine (no /dev/kvm, no permission, wrong architecture). */
public class HvUnavailableException extends RuntimeException {
    public HvUnavailableException(String message) {
        super(message);
    }
}
