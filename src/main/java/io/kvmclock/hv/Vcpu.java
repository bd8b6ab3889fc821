package io.kvmclock.hv;

import io.kvmclock.time.PvclockTimeInfo;

/** A vCPU fd's view, including every clock control. */
public interface Vcpu extends AutoCloseable {

    int MSR_IA32_TSC = 0x10;
    int MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;

    int id();

    /** KVM_GET_TSC_KHZ. */
    long getTscKhz();

    /** KVM_SET_TSC_KHZ. */
    void setTscKhz(long khz);

    /** KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET). */
    long getTscOffset();

    /** KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET). */
    void setTscOffset(long offset);

    /**
     * KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_SCALE), read-only (v6 patch 09): {@link HvException}
     * with ENXIO where the kernel has no TSC control (or predates the attribute, which answers the same).
     */
    TscScale getTscScale();

    /** KVM_GET_MSRS for one MSR. */
    long getMsr(int index);

    /** KVM_SET_MSRS for one MSR. */
    void setMsr(int index, long value);

    /** KVM_KVMCLOCK_CTRL. */
    void kvmclockCtrl();

    /** KVM_GET_CLOCK_GUEST (proposed): {@link HvException} with EINVAL without a master clock or support. */
    PvclockTimeInfo getClockGuest();

    /** KVM_SET_CLOCK_GUEST (proposed). */
    void setClockGuest(PvclockTimeInfo pvclock);

    /** Put the vCPU in 16-bit real mode with CS:IP at {@code entryGpa} (flat, CS base = entryGpa & ~0xffff). */
    void resetToRealMode(long entryGpa);

    CpuState saveCpuState();

    void restoreCpuState(CpuState state);

    /**
     * KVM_RUN with a signal pending: KVM serves the vCPU's pending requests as vcpu_enter_guest does (a master
     * clock update its creation or a TSC write filed, a clock update that writes the guest's pvclock) and
     * returns EINTR before entering the guest (kvm_vcpu_exit_request), so the guest runs no instruction.
     * A VMM does this before the blackout so that the first real entry takes no new master clock reference.
     */
    void serveRequests();

    /** KVM_RUN until the next exit. */
    VcpuExit run();

    @Override
    void close();
}
