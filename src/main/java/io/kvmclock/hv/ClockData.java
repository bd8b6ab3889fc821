package io.kvmclock.hv;

/** struct kvm_clock_data (include/uapi/linux/kvm.h), 48 bytes, as KVM_GET_CLOCK returns it. */
public record ClockData(long clock, int flags, long realtime, long hostTsc) {
    public static final int TSC_STABLE = 2;
    public static final int REALTIME = 4;
    public static final int HOST_TSC = 8;

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }
}
