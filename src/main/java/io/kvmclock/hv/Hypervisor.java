package io.kvmclock.hv;

/** A host with KVM (real or modelled): the system fd's view. */
public interface Hypervisor extends AutoCloseable {

    /** "kvm" or "sim". */
    String backend();

    HostInfo host();

    ClockCapabilities capabilities();

    /** KVM_CREATE_VM plus one memory slot of {@code memoryBytes} at guest physical 0. */
    Vm createVm(VmConfig config);

    /**
     * Let {@code nanos} of host time pass. The real backend sleeps; the model advances its time line, which
     * is how the model stays deterministic.
     */
    void elapse(long nanos);

    /** The host clocks read at one instant (host TSC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME). */
    HostClocks readHostClocks();

    /**
     * CLOCK_MONOTONIC_RAW alone, for timing operations: a backend should answer without a KVM ioctl, which on
     * a nested host costs microseconds and would be counted in what is timed.
     */
    default long monotonicRawNs() {
        return readHostClocks().monotonicRawNs();
    }

    @Override
    void close();
}
