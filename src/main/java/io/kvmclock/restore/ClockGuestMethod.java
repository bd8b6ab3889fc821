package io.kvmclock.restore;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.FaultInjector;
import io.kvmclock.state.ClockState;
import java.util.List;
import java.util.Optional;

/**
 * KVM_SET_CLOCK_GUEST (kvm_vcpu_ioctl_set_clock_guest, docs/kvm-clock.md): TSC offsets first (per the downtime policy), then the saved pvclock
 * on vCPU0; KVM re-derives kvmclock_offset so the kvmclock is the saved function of the guest TSC.
 */
public record ClockGuestMethod(DowntimePolicy policy) implements RestoreMethod {
    @Override
    public String name() {
        return "clock-guest";
    }

    @Override
    public String summary() {
        return "KVM_SET_CLOCK_GUEST (proposed): TSC offsets, then the saved pvclock on vCPU0";
    }

    @Override
    public DowntimePolicy kvmclockPolicy() {
        return policy;
    }

    @Override
    public DowntimePolicy tscPolicy() {
        return policy;
    }

    @Override
    public Optional<UnsupportedReason> unsupportedReason(ClockCapabilities caps) {
        return caps.clockGuest() ? Optional.empty() : Optional.of(UnsupportedReason.onThisKernel("no KVM_SET_CLOCK_GUEST"));
    }

    @Override
    public FaultInjector.Call setsClockWith() {
        return FaultInjector.Call.KVM_SET_CLOCK_GUEST;
    }

    @Override
    public RestoreReport restore(RestoreTarget t, ClockState saved) {
        unsupportedReason(t.hypervisor().capabilities()).ifPresent(why -> {
            throw new UnsupportedMethodException(why);
        });
        Offsets.matchRates(t, saved);
        Offsets.apply(t, saved, new TscPlan(policy, Offsets.hostTscContinues(t, saved)));
        t.vcpus().getFirst().setClockGuest(Saved.pvclock(saved, 0));
        return RestoreReport.simple(name(), List.of());
    }
}
