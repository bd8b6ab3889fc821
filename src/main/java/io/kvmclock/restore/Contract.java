package io.kvmclock.restore;

/**
 * What a restore method promises, for the callers that act on it. {@code promisesBound}: it holds the guest's
 * kvmclock within a stated bound or fails the restore (precise, docs/kvm-clock.md), so a failed trial is a
 * broken promise, not a number to compare; {@code iterates}: it repeats KVM_SET_CLOCK until it lands, so its
 * rounds and phases are worth showing.
 */
public record Contract(boolean promisesBound, boolean iterates) {
    /** A single pass that reports what it got: every peer VMM's sequence and the documented ones. */
    public static final Contract PLAIN = new Contract(false, false);
}
