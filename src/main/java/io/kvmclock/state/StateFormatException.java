package io.kvmclock.state;

/**
 * A clock-state file, or a state being built, that breaks a rule of the format. The {@link Reason} says which
 * rule; the message is one line naming the field and the value. It is an {@link IllegalArgumentException}
 * because the record constructors raise it too: a state that could not be read back is never built.
 */
public final class StateFormatException extends IllegalArgumentException {

    /** Every way a file or a state can be bad. */
    public enum Reason {
        /** The file has no bytes at all. */
        EMPTY,
        /** Fewer bytes than the 20-byte header. */
        TRUNCATED_HEADER,
        /** Fewer payload bytes than the header declares. */
        TRUNCATED_PAYLOAD,
        /** The first 8 bytes are not "KVMCLKST". */
        BAD_MAGIC,
        /** A major version newer than this build reads. */
        NEWER_MAJOR,
        /** A major version older than any this build reads (0 was never used). */
        OLDER_MAJOR,
        /** The declared payload length is beyond any real state. */
        TOO_LARGE,
        /** The payload's CRC32C is not the one in the header. */
        CRC_MISMATCH,
        /** Bytes after the payload the header declares. */
        TRAILING_GARBAGE,
        /** A record's length disagrees with its fields (too short, or extra bytes in a same-or-older minor). */
        BAD_RECORD_LENGTH,
        /** An enum code or a flag bit this format does not define. */
        UNKNOWN_CODE,
        /** A string that is not valid UTF-8, or is longer than 255 bytes. */
        BAD_STRING,
        /** A tsc_khz of zero or above 10 GHz (host or vCPU). */
        TSC_KHZ_OUT_OF_RANGE,
        /** A vCPU count of zero or above KVM_MAX_VCPUS (4096), or a vCPU id at or above KVM_MAX_VCPU_IDS. */
        VCPU_COUNT_OUT_OF_RANGE,
        /** Two vCPUs with the same id. */
        DUPLICATE_VCPU_ID,
        /** A TSC scaling ratio the hardware named cannot hold. */
        BAD_SCALING_RATIO,
        /** pvclock tsc_to_system_mul is 0: it encodes no frequency and KVM_SET_CLOCK_GUEST refuses it. */
        PVCLOCK_MUL_ZERO,
        /** pvclock tsc_shift outside -32..32 (KVM_SET_CLOCK_GUEST's bound). */
        PVCLOCK_SHIFT_OUT_OF_RANGE,
        /** Non-zero pvclock padding, or pvclock bytes present for a vCPU whose kvmclock was not enabled. */
        PVCLOCK_PADDING,
        /** An odd pvclock version: the structure was copied while KVM was rewriting it. */
        PVCLOCK_TORN
    }

    private final Reason reason;

    public StateFormatException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
