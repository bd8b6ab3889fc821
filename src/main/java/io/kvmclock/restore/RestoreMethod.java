package io.kvmclock.restore;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.FaultInjector;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.state.ClockState;
import java.util.Optional;

/**
 * One way to put a saved guest's time into a fresh VM. Each method is one class; the peers reproduce the
 * published sequences of QEMU, Firecracker and Cloud Hypervisor (docs/kvm-clock.md, "What the other VMMs do") as they are, so their
 * numbers are what users get today.
 */
public sealed interface RestoreMethod
        permits QemuMethod, FirecrackerMethod, CloudHypervisorMethod, DocumentedMethod, DocumentedV6Method,
        ClockGuestMethod, PreciseMethod {

    String name();

    /** One line: whose sequence, and what it does. */
    String summary();

    /** What the guest's kvmclock does across the blackout with this method. */
    DowntimePolicy kvmclockPolicy();

    /** What the guest's TSC does across the blackout with this method. */
    DowntimePolicy tscPolicy();

    /** Why it cannot run with these capabilities; empty when it can. */
    default Optional<UnsupportedReason> unsupportedReason(ClockCapabilities caps) {
        return Optional.empty();
    }

    /** What the method promises and how it works, as far as its callers act on it (the demo's exit code and rows). */
    default Contract contract() {
        return Contract.PLAIN;
    }

    /**
     * The ioctl that puts the saved kvmclock into the destination, the one a fault in "the restore" fails
     * (live-update --inject-fault restore): KVM_SET_CLOCK for every method that sets the VM's clock, including
     * those that fall back to it.
     */
    default FaultInjector.Call setsClockWith() {
        return FaultInjector.Call.KVM_SET_CLOCK;
    }

    /**
     * What this method does on the destination before the blackout, while the source still runs: the new VM and
     * its vCPUs exist, the guest's CPU state and clock state are not there yet. Returns the target with what
     * it prepared. The peers do nothing here: their VMMs do everything after the pause.
     */
    default RestoreTarget prepare(RestoreTarget target) {
        return target;
    }

    /**
     * One rehearsal on a prepared destination while the source still runs: a restore of the destination's own
     * clock into itself, which keeps the restore path hot (compiled, in cache) until the hand-over. Nothing for
     * methods that prepare nothing.
     */
    default void rehearse(RestoreTarget prepared) {
    }

    /**
     * Whether the method prepares its destination before the blackout ({@link #prepare}): the caller then
     * creates the destination's vCPUs before the source pauses; otherwise after, once {@link #beforeVcpus}
     * has the saved state.
     */
    default boolean preparesBeforeBlackout() {
        return false;
    }

    /**
     * What the method does to the destination VM before its vCPUs are created (the v6 algorithm's VM-scope
     * KVM_SET_TSC_KHZ); nothing by default. The caller then creates the vCPUs and calls {@link #restore}.
     */
    default void beforeVcpus(Hypervisor hv, Vm vm, ClockState saved) {}

    RestoreReport restore(RestoreTarget target, ClockState saved);
}
