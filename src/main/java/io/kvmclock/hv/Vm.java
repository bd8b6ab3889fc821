package io.kvmclock.hv;

import java.util.List;

/**
 * A VM fd's view. On every backend a call on a closed VM, or on a vCPU of one, fails with
 * {@link HvException} and EBADF, as the ioctl on a closed fd would.
 */
public interface Vm extends AutoCloseable {

    /** KVM_GET_CLOCK. */
    ClockData getClock();

    /** KVM_SET_CLOCK: clock, flags (only REALTIME is acted on) and realtime are used. */
    void setClock(ClockData data);

    /** VM-scope KVM_GET_TSC_KHZ (KVM_CAP_VM_TSC_CONTROL). */
    long getTscKhz();

    /** VM-scope KVM_SET_TSC_KHZ: only before any vCPU exists. */
    void setTscKhz(long khz);

    /** KVM_CREATE_VCPU. */
    Vcpu createVcpu(int id);

    /** The vCPUs created so far, in creation order: a copy taken at the call, on every backend. */
    List<Vcpu> vcpus();

    GuestMemory memory();

    @Override
    void close();
}
