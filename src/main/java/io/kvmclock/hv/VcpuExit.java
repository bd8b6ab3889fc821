package io.kvmclock.hv;

/** Why KVM_RUN returned. */
public sealed interface VcpuExit {
    /** KVM_EXIT_IO, direction out: the guest wrote {@code value} ({@code size} bytes) to {@code port}. */
    record IoOut(int port, int size, long value) implements VcpuExit {}

    /** KVM_EXIT_HLT. */
    record Halt() implements VcpuExit {}

    /** Anything else, with the kvm_run exit_reason. */
    record Other(int reason, String detail) implements VcpuExit {}
}
