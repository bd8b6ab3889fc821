package io.kvmclock.hv;

import io.kvmclock.time.TscRate;
import io.kvmclock.time.TscScaling;
import java.util.Optional;

/** A host with KVM (real or modelled): the system fd's view. */
public interface Hypervisor extends AutoCloseable {

    /** "kvm" or "sim". */
    String backend();

    HostInfo host();

    ClockCapabilities capabilities();

    /**
     * The hardware TSC scaling KVM uses here (VMX 48 or SVM 32 fractional bits), empty without
     * KVM_CAP_TSC_CONTROL. KVM does not report the ratio it programs; with this a VMM computes it exactly as
     * set_tsc_khz does ({@link TscScaling#ratio}).
     */
    default Optional<TscScaling> tscScaling() {
        return Optional.empty();
    }

    /** The rate KVM runs a vCPU set to {@code guestKhz} at on this host (kvm_set_tsc_khz, then kvm_read_l1_tsc). */
    default TscRate tscRateFor(long guestKhz) {
        return TscRate.of(tscScaling(), guestKhz, host().tscKhz());
    }

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
     * CLOCK_MONOTONIC_RAW alone: a backend should answer without a KVM ioctl, which on a nested host costs
     * microseconds and would be counted in what is timed.
     */
    default long monotonicRawNs() {
        return readHostClocks().monotonicRawNs();
    }

    /**
     * A monotonic clock for timing operations, in ns (its origin means nothing): as cheap as the backend can
     * make it, since restores bracket single ioctls with it. The real backend uses System.nanoTime (an
     * intrinsic: no native call, fast even where the caller still runs in the interpreter); the model its
     * time line.
     */
    default long stopwatchNs() {
        return monotonicRawNs();
    }

    /**
     * The ns the calling thread has spent inside the backend's KVM ioctls so far (a running total): the
     * kernel's share of what is timed, as against the caller's own code. The model counts the latencies it
     * charges to its time line.
     */
    default long ioctlNanos() {
        return 0;
    }

    /** Real-time priority for the calling thread until the handle is closed; {@link Boost#NONE} by default. */
    default Boost boostCurrentThread() {
        return Boost.NONE;
    }

    @Override
    void close();
}
