package io.kvmclock.hv;

/**
 * The clock-related capabilities: KVM_CAP_ADJUST_CLOCK (39, the flag mask), KVM_CAP_TSC_CONTROL (60),
 * KVM_CAP_VM_TSC_CONTROL (214), KVM_CAP_KVMCLOCK_CTRL (76), KVM_CAP_VCPU_ATTRIBUTES (127), and whether
 * the proposed KVM_[GS]ET_CLOCK_GUEST ioctls exist.
 */
public record ClockCapabilities(int adjustClockFlags, boolean tscControl, boolean vmTscControl,
                                boolean kvmclockCtrl, boolean vcpuAttributes, boolean clockGuest) {}
