package io.kvmclock.hv;

import java.util.ArrayList;
import java.util.List;

/** struct kvm_clock_data (include/uapi/linux/kvm.h), 48 bytes, as KVM_GET_CLOCK returns it. */
public record ClockData(long clock, int flags, long realtime, long hostTsc) {
    public static final int TSC_STABLE = 2;
    public static final int REALTIME = 4;
    public static final int HOST_TSC = 8;
    /** KVM_CLOCK_VALID_FLAGS: the flags this kernel ABI defines. */
    public static final int VALID_FLAGS = TSC_STABLE | REALTIME | HOST_TSC;

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    /** The KVM_CLOCK_* names of the bits set in {@code flags}, in bit order, then any others as "unknown 0x…". */
    public static List<String> flagNames(int flags) {
        List<String> names = new ArrayList<>();
        if ((flags & TSC_STABLE) != 0) {
            names.add("TSC_STABLE");
        }
        if ((flags & REALTIME) != 0) {
            names.add("REALTIME");
        }
        if ((flags & HOST_TSC) != 0) {
            names.add("HOST_TSC");
        }
        if ((flags & ~VALID_FLAGS) != 0) {
            names.add(String.format("unknown 0x%x", flags & ~VALID_FLAGS));
        }
        return names;
    }
}
