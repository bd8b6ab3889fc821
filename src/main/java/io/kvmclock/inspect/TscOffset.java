package io.kvmclock.inspect;

/** A vCPU's TSC offset as far as it can be known from outside the VMM. */
public sealed interface TscOffset {

    /** Known: from KVM's debugfs, or 0 because the vendor module runs guests on the host TSC. */
    record Known(long offset, String source) implements TscOffset {}

    /** Not knowable here; {@code reason} says why (debugfs not mounted, not permitted, ...). */
    record Unknown(String reason) implements TscOffset {}
}
